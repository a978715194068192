// The department calendar's days (GET .../calendar → days) as a 7-day strip:
//   <calendar-strip days="{{calendar.days}}" selected="{{date}}" bind:change="onDay" />
// Each day shows its weekday, date and remaining count (余N / 约满 / 停诊 / 未放号 / 无号).
// Event: change {date, day} when a selectable day is tapped; days without a schedule
// ('none') or not yet released ('not_released') cannot be chosen.
const { monthDay } = require('../../utils/format')

const UNSELECTABLE = ['none', 'not_released']

function remainingText(day) {
  switch (day.state) {
    case 'open': return `余${day.available}`
    case 'full': return '约满'
    case 'stopped': return '停诊'
    case 'not_released': return '未放号'
    case 'closed': return '已截止'
    default: return '无号'
  }
}

Component({
  properties: {
    days: { type: Array, value: [] },
    selected: { type: String, value: '' }, // 'YYYY-MM-DD'
    count: { type: Number, value: 7 },
  },
  data: { cells: [] },
  observers: {
    'days, selected, count': function update(days, selected, count) {
      const cells = (days || []).slice(0, count).map((day) => ({
        date: day.date,
        weekday: day.weekday,
        label: monthDay(day.date),
        remaining: remainingText(day),
        state: day.state,
        disabled: UNSELECTABLE.includes(day.state),
        active: day.date === selected,
      }))
      this.setData({ cells })
    },
  },
  methods: {
    onTap(e) {
      const { index } = e.currentTarget.dataset
      const cell = this.data.cells[index]
      if (!cell || cell.disabled) return
      this.triggerEvent('change', { date: cell.date, day: this.data.days[index] })
    },
  },
})
