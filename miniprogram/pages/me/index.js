// 我的: the profile (nickname, phone binding via getPhoneNumber, real-name status), the
// family's entries (挂号, 候补, 陪护, 会员, 积分, 讨论区的我的帖子), and the caregiver's entries (apply, or the
// workbench once a caregiver).
const auth = require('../../services/auth')
const caregivers = require('../../services/caregivers')
const { go } = require('../../utils/routes')

const FAMILY_ENTRIES = [
  { key: 'patients', label: '就诊人管理' },
  { key: 'realName', label: '实名认证' },
  { key: 'registrations', label: '我的挂号' },
  { key: 'waitlist', label: '我的候补' },
  { key: 'careOrders', label: '陪护订单' },
  { key: 'membership', label: '我的会员' },
  { key: 'points', label: '我的积分' },
  { key: 'boardMine', label: '我的帖子' },
]
const CAREGIVER_ENTRIES = [
  { key: 'caregiverInbox', label: '待接单' },
  { key: 'caregiverProfile', label: '护工资料' },
  { key: 'caregiverQualifications', label: '资质证件' },
  { key: 'caregiverPrices', label: '服务价格' },
  { key: 'caregiverAvailability', label: '排班设置' },
  { key: 'caregiverIncome', label: '我的收入' },
]

Component({
  data: {
    user: null, caregiver: null, state: 'loading', errorText: '',
    familyEntries: FAMILY_ENTRIES, caregiverEntries: CAREGIVER_ENTRIES,
  },
  methods: {
    onLoad() {
      return this.load()
    },
    async load() {
      this.setData({ state: 'loading' })
      try {
        const [user, caregiver] = await Promise.all([
          auth.me({ toast: false }),
          // 404: not a caregiver (yet); any other failure just hides the caregiver entries
          caregivers.myProfile({ toast: false }).catch(() => null),
        ])
        this.setData({ user, caregiver, state: '' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    // <button open-type="getPhoneNumber" bindgetphonenumber="onPhone">
    async onPhone(e) {
      if (!e.detail || !e.detail.code) return // the user declined
      try {
        const user = await auth.bindPhone(e.detail.code)
        this.setData({ user })
        wx.showToast({ title: '绑定成功', icon: 'success' })
      } catch (err) {
        // the request wrapper has shown the reason
      }
    },
    onEntry(e) {
      go(e.currentTarget.dataset.key)
    },
    onApply() {
      go('caregiverApply')
    },
  },
})
