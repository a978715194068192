// 护工资料: the caregiver's profile once approved (or suspended). Edits go through PATCH
// /caregiver/me: the vetted fields (name, gender, birth date, photo, experience, history, bio,
// skills) become a pending revision that staff review, shown here with its fields and a
// withdraw button (DELETE /caregiver/me/revision); the service area applies at once. Before
// approval the application page is where the profile is edited.
const caregivers = require('../../../services/caregivers')
const hospitals = require('../../../services/hospitals')
const { go } = require('../../../utils/routes')
const { dateTime } = require('../../../utils/format')
const { fieldErrors, profileForm, serviceArea, toast, confirm } = require('../common')

const FIELD_NAMES = {
  name: '姓名', gender: '性别', birth_date: '出生日期', photo_file_id: '照片', years_experience: '从业年限',
  work_history: '工作经历', bio: '简介', skills: '技能',
}
const GENDER_NAMES = { male: '男', female: '女' }
const LINKS = [
  { key: 'caregiverQualifications', label: '资质证件' },
  { key: 'caregiverPrices', label: '服务价格' },
  { key: 'caregiverAvailability', label: '排班与接单设置' },
  { key: 'caregiverInbox', label: '我的订单' },
  { key: 'caregiverIncome', label: '我的收入' },
]

Component({
  data: {
    state: 'loading', errorText: '', profile: null, vetted: false, revision: null,
    summary: [], skills: [], cities: [], form: null, errors: {}, saving: false, editing: false,
    links: LINKS,
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
        const [profile, skills, catalogue] = await Promise.all([
          caregivers.myProfile({ toast: false }),
          caregivers.skills({ toast: false }),
          hospitals.list({ page_size: 100 }, { toast: false }),
        ])
        const cities = serviceArea(catalogue.items)
        this.setData({ skills, cities })
        this.show(profile)
        this.setData({ state: '' })
      } catch (err) {
        if (err.status === 404) this.setData({ state: 'empty', errorText: '您还不是护工,请先提交入驻申请' })
        else this.setData({ state: 'error', errorText: err.message })
      }
    },
    show(profile) {
      const revision = profile.pending_revision
      const city = this.data.cities.find((c) => c.code === profile.city_code)
      this.setData({
        profile,
        vetted: profile.status === 'approved' || profile.status === 'suspended',
        revision: revision && {
          id: revision.id,
          createdAt: dateTime(revision.created_at),
          fields: Object.keys(revision.changes).map((k) => FIELD_NAMES[k] || k).join('、'),
        },
        summary: [
          { label: '姓名', value: profile.name || '' },
          { label: '性别', value: GENDER_NAMES[profile.gender] || '' },
          { label: '出生日期', value: profile.birth_date || '' },
          { label: '从业年限', value: `${profile.years_experience} 年` },
          { label: '服务城市', value: city ? city.name : (profile.city_code || '') },
          { label: '常驻医院', value: profile.hospitals.map((h) => h.name).join('、') },
          { label: '技能', value: profile.skills.map((s) => s.name).join('、') },
          { label: '简介', value: profile.bio || '' },
        ],
        // the form shows the values as they will be once the revision is approved
        form: profileForm(profile, revision && revision.changes),
      })
    },
    onApply() {
      go('caregiverApply')
    },
    onEdit() {
      this.setData({ editing: !this.data.editing, errors: {} })
    },
    async onSave(e) {
      this.setData({ saving: true, errors: {} })
      try {
        const profile = await caregivers.updateProfile(e.detail.body, { toast: false })
        this.show(profile)
        this.setData({ editing: false })
        toast(this.data.vetted && profile.pending_revision ? '修改已提交,审核通过后生效' : '已保存')
      } catch (err) {
        this.setData({ errors: fieldErrors(err) })
        toast(err.message)
      } finally {
        this.setData({ saving: false })
      }
    },
    async onWithdraw() {
      if (!(await confirm('撤回后本次修改将作废,确定撤回吗?'))) return
      try {
        await caregivers.withdrawRevision()
        toast('已撤回修改')
        const profile = await caregivers.myProfile()
        this.show(profile)
      } catch (err) {
        // toasted
      }
    },
    onLink(e) {
      go(e.currentTarget.dataset.key)
    },
  },
})
