// <status-tag kind="care_order" status="{{order.status}}" label="{{order.status_name}}" />
// The label defaults to utils/status.js's name; pass the API's status_name when there is one.
const { statusInfo } = require('../../utils/status')

Component({
  properties: {
    kind: { type: String, value: '' }, // a key of utils/status.js KINDS
    status: { type: String, value: '' },
    label: { type: String, value: '' }, // overrides the table's label
    color: { type: String, value: '' }, // overrides the table's colour
  },
  data: { text: '', tone: 'grey' },
  observers: {
    'kind, status, label, color': function update(kind, status, label, color) {
      const info = statusInfo(kind, status)
      this.setData({ text: label || info.label, tone: color || info.color })
    },
  },
})
