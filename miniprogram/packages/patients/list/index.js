// 就诊人: the account's patients (masked), 添加 / 编辑 / 删除 (after a confirm). At most 8
// per account (the server says so when the limit is reached).
const patients = require('../../../services/patients')
const { ID_TYPES } = require('../../../utils/identity')
const { go } = require('../../../utils/routes')

const GENDERS = { male: '男', female: '女' }
const ID_TYPE_NAMES = ID_TYPES.reduce((all, t) => ({ ...all, [t.key]: t.label }), {})

function view(p) {
  return {
    ...p,
    facts: [GENDERS[p.gender], p.age !== undefined && p.age !== null ? `${p.age}岁` : '', p.phone].filter(Boolean).join(' · '),
    idText: `${ID_TYPE_NAMES[p.id_type] || '证件'} ${p.id_number}`,
  }
}

Component({
  data: { items: [], total: 0, state: 'loading', errorText: '' },
  methods: {
    onLoad() {
      return this.load()
    },
    // back from adding or editing one
    onShow() {
      if (this.shown) return this.load()
      this.shown = true
      return null
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      if (!this.data.items.length) this.setData({ state: 'loading' })
      try {
        const page = await patients.list({ page: 1, page_size: 20 }, { toast: false })
        const items = page.items.map(view)
        this.setData({
          items, total: page.total, state: items.length ? '' : 'empty',
          errorText: items.length ? '' : '还没有就诊人,添加后即可预约挂号',
        })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onAdd() {
      go('patientEdit')
    },
    onEdit(e) {
      go('patientEdit', { id: e.currentTarget.dataset.id })
    },
    onDelete(e) {
      const { id } = e.currentTarget.dataset
      const patient = this.data.items.find((p) => p.id === id)
      if (!patient) return null
      return new Promise((resolve) => {
        wx.showModal({
          title: '删除就诊人',
          content: `确定删除就诊人「${patient.name}」吗?已有的挂号订单不受影响。`,
          confirmText: '删除',
          confirmColor: '#fa5151',
          success: async (res) => {
            if (res.confirm) await this.remove(id)
            resolve()
          },
          fail: () => resolve(),
        })
      })
    },
    async remove(id) {
      try {
        await patients.remove(id)
        wx.showToast({ title: '已删除', icon: 'success' })
      } catch (err) {
        // the wrapper has shown why
      }
      await this.load()
    },
  },
})
