// A care order's price (a Quote, or an order's `price`), line by line:
//   <price-breakdown price="{{quote}}" unit="天" bind:toggle="onToggle" />
// 单价 × 数量, then night / urgent surcharges and the long-order discount when not zero, then
// the total. Tapping the header folds the lines away (event: toggle {expanded}).
const { yuan } = require('../../utils/format')

Component({
  properties: {
    price: { type: Object, value: null }, // unit_price_fen, units, base_fen, night_fen, urgent_fen, discount_fen, total_fen
    unit: { type: String, value: '' }, // 天 / 班 / 小时 / 次 (CareType.unit_name)
    expanded: { type: Boolean, value: true },
  },
  data: { rows: [], total: '' },
  observers: {
    'price, unit': function update(price, unit) {
      if (!price) return this.setData({ rows: [], total: '' })
      const rows = [{ key: 'base', label: `¥${yuan(price.unit_price_fen)} × ${price.units}${unit}`, value: `¥${yuan(price.base_fen)}` }]
      // night_fen is the total surcharge; a Quote also says over how many nights
      const nights = price.nights ? `(${price.nights}晚)` : ''
      if (price.night_fen) rows.push({ key: 'night', label: `夜间加价${nights}`, value: `+¥${yuan(price.night_fen)}` })
      if (price.urgent_fen) rows.push({ key: 'urgent', label: '加急费', value: `+¥${yuan(price.urgent_fen)}` })
      if (price.discount_fen) rows.push({ key: 'discount', label: '长单优惠', value: `-¥${yuan(price.discount_fen)}`, discount: true })
      return this.setData({ rows, total: yuan(price.total_fen) })
    },
  },
  methods: {
    onToggle() {
      const expanded = !this.data.expanded
      this.setData({ expanded })
      this.triggerEvent('toggle', { expanded })
    },
  },
})
