// 成为护工: the application. A new applicant (phone bound first) fills the form → POST
// /caregiver/me (draft); a draft or rejected application is edited (PATCH) and submitted
// (POST /caregiver/me/submit → pending_review) once prices and the required documents are in.
// Under review it shows the status; once approved it leads to the profile page.
const auth = require('../../../services/auth')
const caregivers = require('../../../services/caregivers')
const hospitals = require('../../../services/hospitals')
const { go } = require('../../../utils/routes')
const { dateTime } = require('../../../utils/format')
const { QUALIFICATION_KINDS, fieldErrors, profileForm, serviceArea, toast } = require('../common')

const KIND_NAMES = QUALIFICATION_KINDS.reduce((acc, k) => ({ ...acc, [k.value]: k.label }), {})

// 'form' (new, draft, rejected) | 'pending' (under review) | 'approved' (approved, suspended)
function modeOf(profile) {
  if (!profile || profile.status === 'draft' || profile.status === 'rejected') return 'form'
  return profile.status === 'pending_review' ? 'pending' : 'approved'
}

Component({
  data: {
    state: 'loading', errorText: '', mode: 'form', profile: null, user: null,
    skills: [], cities: [], form: null, errors: {}, saving: false, submitting: false,
    checklist: [], submittedAt: '',
  },
  methods: {
    onLoad() {
      return this.load()
    },
    onShow() {
      // back from the prices or qualifications page: the checklist may have changed
      if (this.loaded) return this.load({ quiet: true })
      return null
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load({ quiet = false } = {}) {
      if (!quiet) this.setData({ state: 'loading' })
      try {
        const [profile, user, skills, catalogue] = await Promise.all([
          caregivers.myProfile({ toast: false }).catch((err) => {
            if (err.status === 404) return null // not a caregiver yet
            throw err
          }),
          auth.me({ toast: false }),
          caregivers.skills({ toast: false }),
          hospitals.list({ page_size: 100 }, { toast: false }),
        ])
        this.loaded = true
        this.setData({ skills, cities: serviceArea(catalogue.items) })
        this.show(profile, user, { resetForm: !quiet || !this.data.form })
        this.setData({ state: '' })
      } catch (err) {
        if (!quiet) this.setData({ state: 'error', errorText: err.message })
      }
    },
    // resetForm: false keeps what the person is typing (after binding the phone)
    show(profile, user, { resetForm = true } = {}) {
      const data = { profile, mode: modeOf(profile) }
      if (user) data.user = user
      if (resetForm) data.form = profileForm(profile)
      const u = user || this.data.user
      data.checklist = profile ? [
        { key: 'phone', label: '绑定手机号', done: !!(u && u.phone_bound), text: u && u.phone_bound ? u.phone : '未绑定' },
        { key: 'caregiverPrices', label: '服务价格', done: profile.prices.length > 0,
          text: profile.prices.length ? `已设置 ${profile.prices.length} 项` : '至少设置一项' },
        { key: 'caregiverQualifications', label: '必备证件', done: !profile.missing_qualifications.length,
          text: profile.missing_qualifications.length
            ? `${profile.missing_qualifications.map((k) => KIND_NAMES[k] || k).join('、')}(上传后随申请一起审核)`
            : '已齐全' },
      ] : []
      data.submittedAt = profile && profile.submitted_at ? dateTime(profile.submitted_at) : ''
      this.setData(data)
    },
    // <button open-type="getPhoneNumber" bindgetphonenumber="onPhone">
    async onPhone(e) {
      if (!e.detail || !e.detail.code) return // declined
      try {
        const user = await auth.bindPhone(e.detail.code)
        this.show(this.data.profile, user, { resetForm: false })
        toast('绑定成功', 'success')
      } catch (err) {
        // toasted by the request wrapper
      }
    },
    async onSave(e) {
      const { body } = e.detail
      const { profile, user } = this.data
      if (!profile && !(user && user.phone_bound)) {
        toast('请先绑定手机号')
        return
      }
      this.setData({ saving: true, errors: {} })
      try {
        const saved = profile
          ? await caregivers.updateProfile(body, { toast: false })
          : await caregivers.apply(body, { toast: false })
        this.show(saved)
        toast(profile ? '已保存' : '资料已保存,请继续完善价格和证件后提交审核')
      } catch (err) {
        this.setData({ errors: fieldErrors(err) })
        toast(err.message)
      } finally {
        this.setData({ saving: false })
      }
    },
    async onSubmit() {
      if (this.data.submitting) return
      this.setData({ submitting: true })
      try {
        const profile = await caregivers.submit({ toast: false })
        this.show(profile)
        toast('已提交审核', 'success')
      } catch (err) {
        if (err.code === 'profile_incomplete') this.setData({ errors: fieldErrors(err) })
        let message = err.message
        if (err.code === 'qualifications_missing' && err.details && Array.isArray(err.details.missing)) {
          message = `请先上传:${err.details.missing.map((k) => KIND_NAMES[k] || k).join('、')}`
        } else if (err.code === 'profile_incomplete' && err.details && err.details.prices) {
          message = String(err.details.prices[0])
        }
        toast(message)
      } finally {
        this.setData({ submitting: false })
      }
    },
    onCheck(e) {
      const { key } = e.currentTarget.dataset
      if (key !== 'phone') go(key)
    },
    onProfile() {
      go('caregiverProfile')
    },
  },
})
