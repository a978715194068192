// 实名认证: the latest submission and its review (none / pending / verified / rejected with
// the reason); with none or rejected, the form: name, ID document, ID photo (uploaded through
// services/files.js first, its file id sent with the form). Checked as the server checks it.
const auth = require('../../../services/auth')
const files = require('../../../services/files')
const { ID_TYPES, normalizeIdNumber, idNumberError } = require('../../../utils/identity')
const { dateTime } = require('../../../utils/format')
const { fieldErrors, showFormErrors } = require('../../../utils/form')
const { chooseImages } = require('../../../utils/images')

const ID_TYPE_NAMES = ID_TYPES.reduce((all, t) => ({ ...all, [t.key]: t.label }), {})
const STATUS_TEXT = {
  none: '完成实名认证后即可为就诊人预约挂号',
  pending: '资料已提交,请耐心等待审核(通常 1 个工作日内)',
  verified: '您已完成实名认证',
  rejected: '认证未通过,请按原因修改后重新提交',
}

Component({
  data: {
    record: null,
    status: 'none',
    statusText: STATUS_TEXT.none,
    submittedAt: '',
    idTypeName: '',
    showForm: false,
    form: { name: '', id_type: 'resident_id', id_number: '' },
    idTypes: ID_TYPES,
    idTypeIndex: 0,
    photo: null, // {path, fileId}
    uploading: false,
    submitting: false,
    errors: {},
    state: 'loading',
    errorText: '',
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
      this.setData({ state: 'loading' })
      try {
        this.show(await auth.realName({ toast: false }))
      } catch (err) {
        if (err.code === 'real_name_not_submitted') this.show(null)
        else this.setData({ state: 'error', errorText: err.message })
      }
    },
    show(record) {
      const status = record ? record.status : 'none'
      this.setData({
        record,
        status,
        statusText: STATUS_TEXT[status] || '',
        submittedAt: record ? dateTime(record.created_at) : '',
        idTypeName: record ? ID_TYPE_NAMES[record.id_type] || '' : '',
        showForm: status === 'none' || status === 'rejected',
        state: '',
      })
    },
    onInput(e) {
      const { field } = e.currentTarget.dataset
      this.setData({ [`form.${field}`]: e.detail.value, [`errors.${field}`]: '' })
    },
    onIdType(e) {
      const idTypeIndex = Number(e.detail.value) || 0
      this.setData({ idTypeIndex, 'form.id_type': ID_TYPES[idTypeIndex].key, 'errors.id_number': '' })
    },
    // choose a photo and upload it at once (purpose id_photo); the form sends its file id
    async onChoosePhoto() {
      if (this.data.uploading) return
      const [path] = await chooseImages(1) // none when the user closed the chooser
      if (path) await this.upload(path)
    },
    async upload(path) {
      this.setData({ uploading: true, 'errors.id_photo_file_id': '' })
      try {
        const file = await files.upload(path, files.PURPOSES.idPhoto)
        this.setData({ photo: { path, fileId: file.id } })
      } catch (err) {
        // the wrapper has shown why (too large, wrong type...)
      }
      this.setData({ uploading: false })
    },
    validate() {
      const { form, photo } = this.data
      const errors = {}
      const name = form.name.trim()
      if (!name) errors.name = '请填写真实姓名'
      else if (name.length < 2 || name.length > 32) errors.name = '姓名应为 2 到 32 个字'
      const number = normalizeIdNumber(form.id_number)
      if (!number) errors.id_number = '请填写证件号码'
      else {
        const problem = idNumberError(form.id_type, number)
        if (problem) errors.id_number = problem
      }
      if (!photo) errors.id_photo_file_id = '请上传证件照片'
      return errors
    },
    async onSubmit() {
      if (this.data.submitting || this.data.uploading) return
      if (showFormErrors(this, this.validate())) return
      const { form, photo } = this.data
      this.setData({ submitting: true, errors: {} })
      try {
        const record = await auth.submitRealName({
          name: form.name.trim(), id_type: form.id_type,
          id_number: normalizeIdNumber(form.id_number), id_photo_file_id: photo.fileId,
        }, { toast: false })
        wx.showToast({ title: '已提交审核', icon: 'success' })
        this.show(record)
      } catch (err) {
        this.setData({ errors: fieldErrors(err) })
        wx.showToast({ title: err.message, icon: 'none', duration: 2500 })
        // already pending or verified (another device): show where it stands
        if (err.code === 'real_name_pending' || err.code === 'real_name_verified') this.load()
      }
      this.setData({ submitting: false })
    },
  },
})
