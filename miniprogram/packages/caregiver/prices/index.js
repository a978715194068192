// 服务价格: one price per care type, within the platform's standard range that GET
// /care-types returns (shown on each row). A price outside the range, or not a money amount,
// is refused here before anything is sent; a blank row is a care type not offered. Saving
// replaces every price (PUT /caregiver/me/prices) and applies at once.
const caregivers = require('../../../services/caregivers')
const { yuan } = require('../../../utils/format')
const { toast } = require('../common')

const AMOUNT = /^\d+(\.\d{1,2})?$/
const plain = (fen) => String(fen / 100) // 20000 → "200", 250 → "2.5" (as the server words it)

function rowError(row) {
  const text = (row.value || '').trim()
  if (!text) return ''
  if (!AMOUNT.test(text)) return '请输入正确的金额(最多两位小数)'
  const fen = Math.round(Number(text) * 100)
  if (fen < row.min_fen || fen > row.max_fen) {
    return `${row.name}价格应在 ${plain(row.min_fen)} 元到 ${plain(row.max_fen)} 元之间`
  }
  return ''
}

Component({
  data: { state: 'loading', errorText: '', rows: [], saving: false },
  methods: {
    onLoad() {
      return this.load()
    },
    async load() {
      this.setData({ state: 'loading' })
      try {
        const [types, mine] = await Promise.all([
          caregivers.careTypes({ toast: false }),
          caregivers.prices({ toast: false }),
        ])
        const current = {}
        mine.prices.forEach((p) => { current[p.care_type] = p.price_fen })
        const rows = types.map((t) => ({
          care_type: t.care_type, name: t.name, unit_name: t.unit_name,
          min_fen: t.min_price_fen, max_fen: t.max_price_fen,
          range: `¥${yuan(t.min_price_fen)} – ¥${yuan(t.max_price_fen)} / ${t.unit_name}`,
          value: current[t.care_type] === undefined ? '' : plain(current[t.care_type]),
          error: '',
        }))
        this.setData({ rows, state: rows.length ? '' : 'empty' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onInput(e) {
      const index = Number(e.currentTarget.dataset.index)
      this.setData({ [`rows[${index}].value`]: e.detail.value, [`rows[${index}].error`]: '' })
    },
    onClear(e) {
      const index = Number(e.currentTarget.dataset.index)
      this.setData({ [`rows[${index}].value`]: '', [`rows[${index}].error`]: '' })
    },
    async onSave() {
      if (this.data.saving) return
      const rows = this.data.rows.map((row) => ({ ...row, error: rowError(row) }))
      const bad = rows.find((r) => r.error)
      if (bad) {
        this.setData({ rows })
        toast(bad.error)
        return
      }
      const prices = rows.filter((r) => (r.value || '').trim())
        .map((r) => ({ care_type: r.care_type, price_fen: Math.round(Number(r.value) * 100) }))
      if (!prices.length) {
        toast('请至少设置一项服务价格')
        return
      }
      this.setData({ saving: true })
      try {
        await caregivers.setPrices({ prices }, { toast: false })
        toast('价格已保存', 'success')
      } catch (err) {
        // price_out_of_range / duplicate / unknown: details name the care type
        const careType = err.details && err.details.care_type
        const index = this.data.rows.findIndex((r) => r.care_type === careType)
        if (index >= 0) this.setData({ [`rows[${index}].error`]: err.message })
        toast(err.message)
      } finally {
        this.setData({ saving: false })
      }
    },
  },
})
