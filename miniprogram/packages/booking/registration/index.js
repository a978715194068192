// 挂号详情: status, hospital / department / doctor / time, patient, fee (less 积分抵扣), order
// facts and refunds. Pending payment (a waitlist hold too): a countdown to pay_deadline and
// 立即支付 (payments.payOrder).
// 取消预约 (pending or booked) shows the cancel deadline rule and asks before cancelling.
const booking = require('../../../services/booking')
const payments = require('../../../services/payments')
const { yuan, dateTime } = require('../../../utils/format')

const CANCELLABLE = ['pending_payment', 'booked']
const pad = (n) => String(n).padStart(2, '0')

// seconds → "14:59" (or "1:02:03")
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`
}

function parseTime(value) {
  const t = value ? new Date(value).getTime() : NaN
  return Number.isNaN(t) ? null : t
}

function view(r) {
  const deadline = parseTime(r.cancel_deadline)
  const pastDeadline = deadline !== null && Date.now() >= deadline
  const canCancel = r.status === 'pending_payment' || (r.status === 'booked' && !pastDeadline)
  return {
    fee: yuan(r.fee_fen),
    // points spent as a discount: the payment is the fee less it
    pointsUsed: r.points_used || 0,
    pointsDiscount: r.points_used ? yuan(r.points_discount_fen || 0) : '',
    payable: yuan(r.fee_fen - (r.points_discount_fen || 0)),
    refunded: r.refunded_fen ? yuan(r.refunded_fen) : '',
    time: `${r.visit_date} ${r.period_name} ${r.start_time}-${r.end_time}`,
    doctor: r.doctor ? `${r.doctor.name} ${r.doctor.title || ''}`.trim() : '',
    createdAt: dateTime(r.created_at),
    paidAt: dateTime(r.paid_at),
    cancelledAt: dateTime(r.cancelled_at || r.closed_at),
    cancelDeadline: dateTime(r.cancel_deadline),
    // the rule as the user reads it; shown while the order can still be cancelled or is booked
    cancelRule: r.status === 'pending_payment'
      ? '未支付的订单可直接取消'
      : `${dateTime(r.cancel_deadline)} 前可取消预约,已支付的挂号费全额退回;逾期不可取消`,
    showCancelRule: CANCELLABLE.includes(r.status),
    canCancel,
    pastDeadline: r.status === 'booked' && pastDeadline,
    refunds: (r.refunds || []).map((f) => ({ ...f, amount: yuan(f.amount_fen), at: dateTime(f.succeeded_at || f.requested_at) })),
  }
}

Component({
  data: {
    id: '',
    registration: null,
    view: null,
    countdown: '',
    paying: false,
    cancelling: false,
    state: 'loading',
    errorText: '',
  },
  lifetimes: {
    detached() {
      this.stopCountdown()
    },
  },
  methods: {
    onLoad(query = {}) {
      this.setData({ id: query.id || '' })
      return this.load()
    },
    onUnload() {
      this.stopCountdown()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      const { id } = this.data
      if (!id) {
        this.setData({ state: 'error', errorText: '未指定订单' })
        return
      }
      if (!this.data.registration) this.setData({ state: 'loading' })
      try {
        this.show(await booking.detail(id, { toast: false }))
      } catch (err) {
        this.stopCountdown()
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    show(registration) {
      this.setData({ registration, view: view(registration), state: '' })
      this.startCountdown()
    },
    // pending payment with a deadline: tick every second; when it runs out while shown, ask
    // the server once more (it closes the order); already past on arrival: just say so
    startCountdown() {
      this.stopCountdown()
      const r = this.data.registration
      const deadline = r && r.status === 'pending_payment' ? parseTime(r.pay_deadline) : null
      if (deadline === null) {
        this.setData({ countdown: '' })
        return
      }
      const left = () => (deadline - Date.now()) / 1000
      if (left() <= 0) {
        this.setData({ countdown: '00:00' })
        return
      }
      this.setData({ countdown: clock(left()) })
      this.timer = setInterval(() => {
        if (left() > 0) {
          this.setData({ countdown: clock(left()) })
          return
        }
        this.stopCountdown()
        this.setData({ countdown: '00:00' })
        this.load()
      }, 1000)
    },
    stopCountdown() {
      if (this.timer) clearInterval(this.timer)
      this.timer = null
    },
    async onPay() {
      if (this.data.paying) return
      this.setData({ paying: true })
      try {
        await payments.payOrder(payments.ORDER_TYPES.registration, Number(this.data.id))
        wx.showToast({ title: '支付成功', icon: 'success' })
      } catch (err) {
        // payments has shown why (cancelled, still confirming, expired...)
      }
      this.setData({ paying: false })
      await this.load()
    },
    onCancel() {
      const { view: v, cancelling } = this.data
      if (cancelling || !v) return null
      if (!v.canCancel) {
        wx.showToast({ title: '已超过取消预约的截止时间', icon: 'none' })
        return null
      }
      const content = this.data.registration.status === 'pending_payment'
        ? '确定取消这个未支付的预约吗?号源将退回。'
        : `取消后挂号费 ¥${v.fee} 将原路全额退回。取消截止时间:${v.cancelDeadline}。确定取消吗?`
      return new Promise((resolve) => {
        wx.showModal({
          title: '取消预约',
          content,
          confirmText: '确定取消',
          cancelText: '再想想',
          success: async (res) => {
            if (res.confirm) await this.cancel()
            resolve()
          },
          fail: () => resolve(),
        })
      })
    },
    async cancel() {
      this.setData({ cancelling: true })
      try {
        const registration = await booking.cancel(Number(this.data.id))
        this.show(registration)
        wx.showToast({ title: '已取消', icon: 'success' })
      } catch (err) {
        // the wrapper has shown the reason (e.g. 已超过取消预约的截止时间)
        if (err.code === 'cancel_deadline_passed' || err.code === 'invalid_state_transition') await this.load()
      }
      this.setData({ cancelling: false })
    },
  },
})
