// One order in a list, for registrations and care orders alike:
//   <order-card kind="registration" order="{{item}}" actions="{{[{key: 'pay', label: '去支付', primary: true}]}}"
//               bind:open="onOpen" bind:action="onAction" />
// Events: open {id, kind} (tap on the card); action {key, id, kind} (a button; does not open).
const { yuan, dateTime } = require('../../utils/format')

function registrationView(o) {
  const doctor = o.doctor ? `${o.doctor.name}${o.doctor.title ? ` ${o.doctor.title}` : ''}` : ''
  return {
    title: [o.hospital && o.hospital.name, o.department && o.department.name].filter(Boolean).join(' · '),
    lines: [
      doctor && `医生:${doctor}`,
      o.visit_date && `就诊:${o.visit_date} ${o.period_name || ''}`.trim(),
      o.patient_name && `就诊人:${o.patient_name}`,
    ].filter(Boolean),
    amount: yuan(o.fee_fen),
  }
}

function careOrderView(o) {
  const place = o.hospital ? o.hospital.name : o.address
  return {
    title: o.care_type_name || '陪护服务',
    lines: [
      place && `地点:${place}${o.department ? ` ${o.department}` : ''}`,
      o.start && `时间:${dateTime(o.start)} 至 ${dateTime(o.end)}`,
      o.patient_name && `患者:${o.patient_name}`,
      o.caregiver && `护工:${o.caregiver.name}`,
    ].filter(Boolean),
    amount: yuan(o.price && o.price.total_fen),
  }
}

Component({
  properties: {
    kind: { type: String, value: 'registration' }, // 'registration' | 'care_order'
    order: { type: Object, value: null },
    actions: { type: Array, value: [] }, // [{key, label, primary}]
  },
  data: { view: null },
  observers: {
    'kind, order': function update(kind, order) {
      if (!order) return this.setData({ view: null })
      const view = kind === 'care_order' ? careOrderView(order) : registrationView(order)
      return this.setData({ view })
    },
  },
  methods: {
    onOpen() {
      const { order, kind } = this.data
      if (order) this.triggerEvent('open', { id: order.id, kind })
    },
    onAction(e) {
      const { order, kind } = this.data
      this.triggerEvent('action', { key: e.currentTarget.dataset.key, id: order.id, kind })
    },
  },
})
