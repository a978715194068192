// 添加 / 编辑就诊人. The form is checked as the server checks it (utils/identity.js: a resident
// ID is 18 characters with the GB 11643 check digit, its birthday and gender come from the
// number; other documents need them typed; phones are 11-digit mobiles) before any request,
// and the server's field errors (err.details) are shown under their fields.
//
// query: id (edit; the full data comes from GET /patients/{id}/edit), none to add
const patients = require('../../../services/patients')
const {
  ID_TYPES, normalizeIdNumber, idNumberError, parseResidentId, isMobile,
} = require('../../../utils/identity')
const { fieldErrors, showFormErrors } = require('../../../utils/form')

const GENDERS = [{ key: 'male', label: '男' }, { key: 'female', label: '女' }]
const OPTIONAL = ['medical_card_no', 'contact_name', 'contact_phone', 'condition', 'hospital_name', 'ward', 'bed_no']
const MEDICAL_CARD = /^[A-Za-z0-9-]{0,32}$/

const EMPTY_FORM = {
  name: '', id_type: 'resident_id', id_number: '', phone: '', gender: '', birthday: '', is_insured: false,
  medical_card_no: '', contact_name: '', contact_phone: '', condition: '', hospital_name: '', ward: '', bed_no: '',
}

const pad = (n) => String(n).padStart(2, '0')
function chinaToday() {
  const cn = new Date(Date.now() + 8 * 3600 * 1000)
  return `${cn.getUTCFullYear()}-${pad(cn.getUTCMonth() + 1)}-${pad(cn.getUTCDate())}`
}

const trim = (v) => String(v === null || v === undefined ? '' : v).trim()

// {field: message} for what the server would refuse; {} when the form is fine
function validate(form) {
  const errors = {}
  const name = trim(form.name)
  if (!name) errors.name = '请填写姓名'
  else if (name.length < 2) errors.name = '姓名至少 2 个字'
  else if (name.length > 32) errors.name = '姓名不能超过 32 个字'
  const number = normalizeIdNumber(form.id_number)
  if (!number) errors.id_number = '请填写证件号码'
  else {
    const problem = idNumberError(form.id_type, number)
    if (problem) errors.id_number = problem
  }
  const phone = trim(form.phone)
  if (!phone) errors.phone = '请填写手机号'
  else if (!isMobile(phone)) errors.phone = '手机号格式不正确'
  if (form.id_type !== 'resident_id') {
    if (!form.gender) errors.gender = '请选择性别'
    if (!form.birthday) errors.birthday = '请填写出生日期'
    else if (form.birthday > chinaToday()) errors.birthday = '出生日期不能晚于今天'
  }
  const contactPhone = trim(form.contact_phone)
  if (contactPhone && !isMobile(contactPhone)) errors.contact_phone = '手机号格式不正确'
  if (!MEDICAL_CARD.test(trim(form.medical_card_no))) errors.medical_card_no = '就诊卡号只能包含字母、数字和连字符'
  return errors
}

// the PatientCreate / PatientUpdate body: a resident ID's birthday and gender are the
// server's to derive; empty optional fields are null
function body(form) {
  const data = {
    name: trim(form.name),
    id_type: form.id_type,
    id_number: normalizeIdNumber(form.id_number),
    phone: trim(form.phone),
    is_insured: !!form.is_insured,
  }
  if (form.id_type !== 'resident_id') {
    data.gender = form.gender
    data.birthday = form.birthday
  }
  OPTIONAL.forEach((field) => { data[field] = trim(form[field]) || null })
  return data
}

Component({
  data: {
    id: '',
    form: { ...EMPTY_FORM },
    idTypes: ID_TYPES,
    idTypeIndex: 0,
    genders: GENDERS,
    derived: null, // {birthday, genderLabel} read from a valid resident ID
    today: chinaToday(),
    errors: {},
    state: '',
    errorText: '',
    saving: false,
  },
  methods: {
    onLoad(query = {}) {
      if (!query.id) {
        if (wx.setNavigationBarTitle) wx.setNavigationBarTitle({ title: '添加就诊人' })
        return null
      }
      this.setData({ id: query.id })
      if (wx.setNavigationBarTitle) wx.setNavigationBarTitle({ title: '编辑就诊人' })
      return this.load()
    },
    async load() {
      this.setData({ state: 'loading' })
      try {
        const p = await patients.editView(this.data.id, { toast: false })
        const form = { ...EMPTY_FORM }
        Object.keys(EMPTY_FORM).forEach((field) => {
          if (p[field] !== null && p[field] !== undefined) form[field] = p[field]
        })
        this.setData({ form, idTypeIndex: Math.max(0, ID_TYPES.findIndex((t) => t.key === form.id_type)), state: '' })
        this.derive()
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    // birthday and gender of a valid resident ID, shown read-only
    derive() {
      const { form } = this.data
      const parsed = form.id_type === 'resident_id' ? parseResidentId(normalizeIdNumber(form.id_number)) : null
      this.setData({
        derived: parsed ? { birthday: parsed.birthday, genderLabel: parsed.gender === 'male' ? '男' : '女' } : null,
      })
    },
    setField(field, value) {
      this.setData({ [`form.${field}`]: value, [`errors.${field}`]: '' })
    },
    onInput(e) {
      const { field } = e.currentTarget.dataset
      this.setField(field, e.detail.value)
      if (field === 'id_number') this.derive()
    },
    onIdType(e) {
      const idTypeIndex = Number(e.detail.value) || 0
      this.setData({ idTypeIndex })
      this.setField('id_type', ID_TYPES[idTypeIndex].key)
      this.setData({ 'errors.id_number': '' })
      this.derive()
    },
    onGender(e) {
      this.setField('gender', e.currentTarget.dataset.key)
    },
    onBirthday(e) {
      this.setField('birthday', e.detail.value)
    },
    onInsured(e) {
      this.setField('is_insured', !!e.detail.value)
    },
    async onSave() {
      if (this.data.saving) return
      if (showFormErrors(this, validate(this.data.form))) return
      this.setData({ saving: true, errors: {} })
      const data = body(this.data.form)
      try {
        if (this.data.id) await patients.update(this.data.id, data, { toast: false })
        else await patients.create(data, { toast: false })
        wx.showToast({ title: '已保存', icon: 'success' })
        wx.navigateBack({ delta: 1 })
      } catch (err) {
        // the server's field errors under their fields, its message as a toast
        this.setData({ errors: fieldErrors(err) })
        wx.showToast({ title: err.message, icon: 'none', duration: 2500 })
      }
      this.setData({ saving: false })
    },
  },
})
