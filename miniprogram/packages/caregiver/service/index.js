// 服务详情 (caregiver): one order. Accepted → 开始服务 (check-in, with the location when the
// caregiver allows it); in service → add a service record (patient's condition, care given,
// up to 9 photos uploaded through services/files.js) and 结束服务; the records as a timeline.
const careOrders = require('../../../services/care_orders')
const { yuan, dateTime } = require('../../../utils/format')
const { LIMITS, fieldErrors, pickAndUpload, toast, confirm } = require('../common')

const LOCATION_TIMEOUT = 5000

// {latitude, longitude}, or {} when refused, unavailable or too slow
function location() {
  return new Promise((resolve) => {
    if (typeof wx.getLocation !== 'function') return resolve({})
    const timer = setTimeout(() => resolve({}), LOCATION_TIMEOUT)
    wx.getLocation({
      type: 'gcj02',
      success: (res) => { clearTimeout(timer); resolve({ latitude: res.latitude, longitude: res.longitude }) },
      fail: () => { clearTimeout(timer); resolve({}) },
    })
    return null
  })
}

Component({
  data: {
    state: 'loading', errorText: '', order: null, records: [], busy: false,
    condition: '', careGiven: '', photos: [], recordErrors: {}, saving: false, maxPhotos: LIMITS.recordPhotosMax,
  },
  methods: {
    onLoad(query) {
      this.id = Number(query && query.id)
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      if (!this.id) {
        this.setData({ state: 'error', errorText: '订单不存在' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const [order, records] = await Promise.all([
          careOrders.caregiverDetail(this.id, { toast: false }),
          careOrders.caregiverRecords(this.id, { toast: false }),
        ])
        this.show(order, records)
        this.setData({ state: '' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    show(order, records) {
      const data = {
        order: {
          ...order,
          place: [order.hospital ? order.hospital.name : order.address, order.department, order.bed].filter(Boolean).join(' · '),
          time: `${dateTime(order.start)} 至 ${dateTime(order.end)}`,
          total: yuan(order.price && order.price.total_fen),
          startedAt: dateTime(order.started_at),
          endedAt: dateTime(order.ended_at),
        },
      }
      if (records) data.records = records.map((r) => ({ ...r, at: dateTime(r.recorded_at) })).reverse()
      this.setData(data)
    },
    async onStart() {
      if (this.data.busy) return
      if (!(await confirm('确认已到达服务地点并开始服务吗?', '开始服务'))) return
      this.setData({ busy: true })
      try {
        const where = await location()
        const order = await careOrders.start(this.id, where)
        this.show(order)
        toast('已开始服务', 'success')
      } catch (err) {
        // toasted (too_early_to_start: 还未到服务开始时间)
      } finally {
        this.setData({ busy: false })
      }
    },
    async onEnd() {
      if (this.data.busy) return
      if (!(await confirm('结束后将请家属确认服务完成,确定结束服务吗?', '结束服务'))) return
      this.setData({ busy: true })
      try {
        const order = await careOrders.end(this.id)
        this.show(order)
        toast('服务已结束', 'success')
      } catch (err) {
        // toasted
      } finally {
        this.setData({ busy: false })
      }
    },
    onInput(e) {
      const { field } = e.currentTarget.dataset
      this.setData({ [field]: e.detail.value, recordErrors: {} })
    },
    async onPhotos() {
      const room = LIMITS.recordPhotosMax - this.data.photos.length
      if (room <= 0) {
        toast(`最多 ${LIMITS.recordPhotosMax} 张照片`)
        return
      }
      const uploaded = await pickAndUpload(room, 'attachment')
      if (uploaded.length) this.setData({ photos: this.data.photos.concat(uploaded), recordErrors: {} })
    },
    onRemovePhoto(e) {
      const index = Number(e.currentTarget.dataset.index)
      this.setData({ photos: this.data.photos.filter((p, i) => i !== index) })
    },
    async onAddRecord() {
      if (this.data.saving) return
      const condition = (this.data.condition || '').trim()
      const careGiven = (this.data.careGiven || '').trim()
      const { photos } = this.data
      const errors = {}
      if (!condition && !careGiven && !photos.length) errors.condition = '请填写病情、护理内容或上传照片'
      if (condition.length > LIMITS.recordTextMax) errors.condition = `患者情况最多 ${LIMITS.recordTextMax} 字`
      if (careGiven.length > LIMITS.recordTextMax) errors.care_given = `护理内容最多 ${LIMITS.recordTextMax} 字`
      if (photos.length > LIMITS.recordPhotosMax) errors.photo_file_ids = `最多 ${LIMITS.recordPhotosMax} 张照片`
      if (Object.keys(errors).length) {
        this.setData({ recordErrors: errors })
        toast(errors[Object.keys(errors)[0]])
        return
      }
      const body = { condition: condition || null, care_given: careGiven || null, photo_file_ids: photos.map((p) => p.id) }
      this.setData({ saving: true })
      try {
        const record = await careOrders.addRecord(this.id, body, { toast: false })
        this.setData({
          records: [{ ...record, at: dateTime(record.recorded_at) }].concat(this.data.records),
          condition: '', careGiven: '', photos: [],
        })
        toast('记录已保存', 'success')
      } catch (err) {
        this.setData({ recordErrors: fieldErrors(err) })
        toast(err.message)
      } finally {
        this.setData({ saving: false })
      }
    },
  },
})
