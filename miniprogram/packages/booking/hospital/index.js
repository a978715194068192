// 医院详情: name, level, address and phone, the notice (预约须知), the booking rules in words,
// and the departments (two levels: the first level on the left, its departments on the right).
// A department opens its 7-day calendar.
const hospitals = require('../../../services/hospitals')
const { go } = require('../../../utils/routes')

// BookingRules → the sentences shown under 预约规则
function ruleLines(rules) {
  if (!rules) return []
  const cancelDay = rules.cancel_days_before ? `就诊前 ${rules.cancel_days_before} 日` : '就诊当日'
  return [
    `每日 ${rules.release_time} 放号,可预约未来 ${rules.booking_days_ahead} 天的号源`,
    `就诊前一日 ${rules.stop_time} 停止预约`,
    `${cancelDay} ${rules.cancel_time} 前可取消预约,已支付的全额退款;逾期不可取消`,
    '未在规定时间内支付的订单自动取消,号源退回',
  ]
}

Component({
  data: {
    id: '',
    hospital: null,
    rules: [],
    groups: [], // first-level departments
    groupIndex: 0,
    departments: [], // what the right column lists
    showIntro: false,
    state: 'loading',
    errorText: '',
  },
  methods: {
    onLoad(query) {
      this.setData({ id: (query && query.id) || '' })
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      const { id } = this.data
      if (!id) {
        this.setData({ state: 'error', errorText: '未指定医院' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const hospital = await hospitals.detail(id, { toast: false })
        const groups = hospital.departments || []
        this.setData({
          hospital, rules: ruleLines(hospital.booking_rules), groups,
          state: '', // shown even without departments (「暂无可预约科室」)
        })
        this.selectGroup(Math.min(this.data.groupIndex, Math.max(groups.length - 1, 0)))
        if (wx.setNavigationBarTitle) wx.setNavigationBarTitle({ title: hospital.name })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    selectGroup(index) {
      const group = this.data.groups[index]
      // a first-level department without children is booked as it is
      const departments = !group ? [] : (group.children && group.children.length ? group.children : [group])
      this.setData({ groupIndex: index, departments })
    },
    onGroup(e) {
      this.selectGroup(Number(e.currentTarget.dataset.index))
    },
    onDepartment(e) {
      const { id, name } = e.currentTarget.dataset
      go('department', { hospital_id: this.data.hospital.id, department_id: id, name })
    },
    onToggleIntro() {
      this.setData({ showIntro: !this.data.showIntro })
    },
    onCall() {
      const { hospital } = this.data
      if (hospital && hospital.phone && wx.makePhoneCall) wx.makePhoneCall({ phoneNumber: hospital.phone })
    },
  },
})
