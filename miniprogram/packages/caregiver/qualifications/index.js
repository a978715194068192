// 资质证件: the caregiver's documents with their review status, reject reasons and expiry
// warnings (expired, or within 30 days); upload a new one (kind, number, dates, 1–6 photos
// through services/files.js), correct a rejected one (PATCH), delete one not yet approved.
// The form checks what the server checks (ID-card checksum, certificate number, expiry).
const caregivers = require('../../../services/caregivers')
const { day } = require('../../../utils/format')
const {
  LIMITS, QUALIFICATION_KINDS, CERTIFICATE_NUMBER, idCardError, fieldErrors, daysUntil,
  pickAndUpload, toast, confirm,
} = require('../common')

const EMPTY = {
  id: null, kind: '', title: '', number: '', issuer: '', issued_on: '', expires_on: '', long_term: false, files: [],
}

function expiryOf(q, today) {
  if (!q.expires_on) return { text: '长期有效', tone: '' }
  const left = daysUntil(q.expires_on, today)
  if (q.expired || left < 0) return { text: `已于 ${q.expires_on} 过期,请上传新证件`, tone: 'red' }
  if (left <= LIMITS.expiryWarningDays) return { text: `${left} 天后到期(${q.expires_on}),请及时更新`, tone: 'orange' }
  return { text: `有效期至 ${q.expires_on}`, tone: '' }
}

function formErrors(form, today) {
  const errors = {}
  if (!form.kind) errors.kind = '请选择证件类型'
  const number = (form.number || '').trim()
  if (form.kind === 'id_card') {
    const problem = idCardError(number)
    if (problem) errors.number = problem
  } else if (!CERTIFICATE_NUMBER.test(number)) errors.number = '证书编号应为 4–64 位字母、数字或连字符'
  if ((form.title || '').length > 64) errors.title = '名称最多 64 字'
  if ((form.issuer || '').length > 64) errors.issuer = '发证机关最多 64 字'
  if (!form.files.length) errors.files = '请上传证件照片'
  else if (form.files.length > LIMITS.qualificationFilesMax) errors.files = `最多 ${LIMITS.qualificationFilesMax} 张`
  if (form.issued_on && form.issued_on > today) errors.issued_on = '发证日期不能晚于今天'
  if (!form.expires_on) {
    if (!(form.kind === 'id_card' && form.long_term)) errors.expires_on = form.kind === 'id_card' ? '请填写有效期,或选择长期有效' : '该证件需填写有效期截止日期'
  } else if (form.issued_on && form.expires_on <= form.issued_on) errors.expires_on = '有效期截止日期应晚于发证日期'
  else if (form.expires_on < today) errors.expires_on = '证件已过期,请上传有效期内的证件'
  return errors
}

Component({
  data: {
    state: 'loading', errorText: '', items: [], kinds: QUALIFICATION_KINDS,
    kindNames: QUALIFICATION_KINDS.map((k) => k.label), kindIndex: -1,
    editing: false, form: EMPTY, errors: {}, saving: false, today: day(),
  },
  methods: {
    onLoad() {
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      this.setData({ state: 'loading', today: day() })
      try {
        // at most 10 per caregiver (the server's limit): one page holds them all
        const result = await caregivers.qualifications({ toast: false })
        const today = this.data.today
        const items = result.items.map((q) => ({ ...q, expiry: expiryOf(q, today) }))
        this.setData({ items, state: items.length ? '' : 'empty', errorText: items.length ? '' : '还没有上传证件' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onAdd() {
      this.setData({ editing: true, form: { ...EMPTY, files: [] }, kindIndex: -1, errors: {} })
    },
    onCancel() {
      this.setData({ editing: false, errors: {} })
    },
    // a rejected document: fetch it (the list masks the number) and edit it
    async onFix(e) {
      const id = Number(e.currentTarget.dataset.id)
      try {
        const q = await caregivers.qualification(id)
        this.setData({
          editing: true,
          kindIndex: QUALIFICATION_KINDS.findIndex((k) => k.value === q.kind),
          errors: {},
          form: {
            id: q.id, kind: q.kind, title: q.title || '', number: q.number, issuer: q.issuer || '',
            issued_on: q.issued_on || '', expires_on: q.expires_on || '', long_term: !q.expires_on,
            files: q.file_ids.map((fid) => ({ id: fid, path: '' })),
          },
        })
      } catch (err) {
        // toasted
      }
    },
    async onRemove(e) {
      const id = Number(e.currentTarget.dataset.id)
      if (!(await confirm('确定删除这份证件吗?'))) return
      try {
        await caregivers.removeQualification(id)
        toast('已删除')
        await this.load()
      } catch (err) {
        // toasted
      }
    },
    set(field, value) {
      this.setData({ [`form.${field}`]: value, [`errors.${field}`]: '' })
    },
    onKind(e) {
      const kindIndex = Number(e.detail.value)
      this.setData({ kindIndex })
      this.set('kind', QUALIFICATION_KINDS[kindIndex].value)
      if (QUALIFICATION_KINDS[kindIndex].value !== 'id_card') this.set('long_term', false)
    },
    onInput(e) {
      this.set(e.currentTarget.dataset.field, e.detail.value)
    },
    onDate(e) {
      this.set(e.currentTarget.dataset.field, e.detail.value)
    },
    onLongTerm() {
      const longTerm = !this.data.form.long_term
      this.set('long_term', longTerm)
      if (longTerm) this.set('expires_on', '')
    },
    async onPhotos() {
      const room = LIMITS.qualificationFilesMax - this.data.form.files.length
      if (room <= 0) {
        toast(`最多 ${LIMITS.qualificationFilesMax} 张`)
        return
      }
      const uploaded = await pickAndUpload(room, 'qualification')
      if (uploaded.length) this.set('files', this.data.form.files.concat(uploaded))
    },
    onRemovePhoto(e) {
      const index = Number(e.currentTarget.dataset.index)
      this.set('files', this.data.form.files.filter((f, i) => i !== index))
    },
    async onSave() {
      if (this.data.saving) return
      const { form, today } = this.data
      const errors = formErrors(form, today)
      if (Object.keys(errors).length) {
        this.setData({ errors })
        toast(errors[Object.keys(errors)[0]])
        return
      }
      const body = {
        number: form.kind === 'id_card' ? form.number.trim().toUpperCase().replace(/ /g, '') : form.number.trim(),
        file_ids: form.files.map((f) => f.id),
        issued_on: form.issued_on || null,
        expires_on: form.expires_on || null,
        issuer: form.issuer.trim() || null,
      }
      if (form.title.trim()) body.title = form.title.trim()
      this.setData({ saving: true })
      try {
        if (form.id) await caregivers.updateQualification(form.id, body, { toast: false })
        else await caregivers.addQualification({ kind: form.kind, ...body }, { toast: false })
        toast('已提交审核', 'success')
        this.setData({ editing: false })
        await this.load()
      } catch (err) {
        this.setData({ errors: fieldErrors(err) })
        toast(err.message)
      } finally {
        this.setData({ saving: false })
      }
    },
  },
})
