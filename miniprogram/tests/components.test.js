// Every shared component renders from API-shaped data and emits its events.
const { installWx } = require('./helpers/wx')

let load

beforeEach(() => {
  jest.resetModules()
  installWx()
  load = require('./helpers/load')
})

const registration = {
  id: 42, order_no: 'R20260105001', status: 'pending_payment', status_name: '待支付',
  hospital: { id: 1, name: '市第一人民医院' }, department: { id: 2, name: '心内科' },
  doctor: { id: 3, name: '王医生', title: '主任医师' }, visit_date: '2026-01-05',
  period_name: '上午', patient_name: '张*', fee_fen: 5000,
}

const careOrder = {
  id: 7, order_no: 'C20260105002', status: 'in_service', status_name: '服务中',
  care_type_name: '全天陪护', hospital: { id: 1, name: '市第一人民医院' }, department: '骨科',
  start: '2026-01-05T00:00:00+00:00', end: '2026-01-07T00:00:00+00:00', patient_name: '李*',
  caregiver: { id: 9, name: '赵阿姨', photo_url: null }, price: { total_fen: 56000 },
}

describe('status-tag', () => {
  test('takes the label and colour from utils/status.js', () => {
    const tag = load.renderComponent('components/status-tag/index', { kind: 'registration', status: 'booked' })
    expect(load.text(tag, '.tag')).toBe('已预约')
    expect(tag.querySelector('.tag').dom.className).toMatch(/tag--blue/)
  })

  test('the API status_name wins; unknown statuses fall back to grey', () => {
    const tag = load.renderComponent('components/status-tag/index', { kind: 'care_order', status: 'in_service', label: '服务进行中' })
    expect(load.text(tag, '.tag')).toBe('服务进行中')
    tag.setData({ kind: 'care_order', status: 'mystery', label: '' })
    expect(load.text(tag, '.tag')).toBe('mystery')
    expect(tag.querySelector('.tag').dom.className).toMatch(/tag--grey/)
  })
})

describe('state-view', () => {
  test('loading, empty (with action), error (with retry), and nothing when state is empty', async () => {
    const view = load.renderComponent('components/state-view/index', { state: 'loading' })
    expect(load.text(view, '.message')).toBe('加载中…')

    view.setData({ state: 'empty', text: '还没有就诊人', actionText: '添加就诊人' })
    expect(load.text(view, '.message')).toBe('还没有就诊人')
    const action = jest.fn()
    view.addEventListener('action', action)
    await load.tap(view, '.action')
    expect(action).toHaveBeenCalledTimes(1)

    view.setData({ state: 'error', text: '网络异常,请检查网络后重试' })
    const retry = jest.fn()
    view.addEventListener('retry', retry)
    await load.tap(view, '.retry')
    expect(retry).toHaveBeenCalledTimes(1)
    expect(load.text(view, '.message')).toBe('网络异常,请检查网络后重试')

    view.setData({ state: '' })
    expect(view.querySelector('.state')).toBeUndefined()
  })
})

describe('order-card', () => {
  test('a registration: title, lines, amount, status; open and action events', async () => {
    const card = load.renderComponent('components/order-card/index', {
      kind: 'registration', order: registration, actions: [{ key: 'pay', label: '去支付', primary: true }],
    })
    expect(load.text(card, '.title')).toBe('市第一人民医院 · 心内科')
    expect(load.texts(card, '.line')).toEqual(['医生:王医生 主任医师', '就诊:2026-01-05 上午', '就诊人:张*'])
    expect(load.text(card, '.amount')).toBe('¥50.00')
    expect(card.querySelector('.action--primary')).toBeTruthy()

    const open = jest.fn()
    const action = jest.fn()
    card.addEventListener('open', open)
    card.addEventListener('action', action)
    await load.tap(card, '.action')
    expect(action).toHaveBeenCalledWith(expect.objectContaining({ detail: { key: 'pay', id: 42, kind: 'registration' } }))
    expect(open).not.toHaveBeenCalled() // catchtap: the button does not open the card
    await load.tap(card, '.card')
    expect(open).toHaveBeenCalledWith(expect.objectContaining({ detail: { id: 42, kind: 'registration' } }))
  })

  test('a care order: place, China-time window, caregiver and total', () => {
    const card = load.renderComponent('components/order-card/index', { kind: 'care_order', order: careOrder })
    expect(load.text(card, '.title')).toBe('全天陪护')
    expect(load.texts(card, '.line')).toEqual([
      '地点:市第一人民医院 骨科', '时间:2026-01-05 08:00 至 2026-01-07 08:00', '患者:李*', '护工:赵阿姨'])
    expect(load.text(card, '.amount')).toBe('¥560.00')
    expect(card.querySelector('.actions')).toBeUndefined()
  })
})

describe('caregiver-card', () => {
  const caregiver = {
    id: 9, display_name: '赵*', gender: 'female', age: 48, years_experience: 6, rating_avg: 4.86,
    rating_count: 31, completed_orders: 120, photo_url: '/api/v1/caregivers/9/photo',
    skills: [{ code: 'stroke', name: '脑卒中护理' }], badges: [{ kind: 'nursing_certificate', kind_name: '护理资格证' }],
    prices: [{ care_type: 'full_day', name: '全天陪护', price_fen: 28000, unit: 'day', unit_name: '天' },
      { care_type: 'escort', name: '陪诊', price_fen: 15000, unit: 'visit', unit_name: '次' }],
    price_fen: 15000, distance_km: 2.5,
  }

  test('renders facts, rating, badges, skills and the searched care type\'s price', () => {
    const card = load.renderComponent('components/caregiver-card/index', { caregiver, careType: 'escort' })
    expect(load.text(card, '.name')).toBe('赵*')
    expect(load.text(card, '.rating')).toBe('★ 4.9')
    expect(load.text(card, '.facts')).toBe('女 · 48岁 · 从业6年 · 服务120单')
    expect(load.texts(card, '.chip')).toEqual(['护理资格证', '脑卒中护理'])
    expect(load.text(card, '.price')).toBe('¥150.00/次')
    expect(load.text(card, '.distance')).toBe('2.5km')
    // the photo path is made absolute against the API base
    expect(card.data.view.photo).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/caregivers\/9\/photo$/)
  })

  test('emits open on the card and book on the button', async () => {
    const card = load.renderComponent('components/caregiver-card/index', { caregiver })
    const open = jest.fn()
    const book = jest.fn()
    card.addEventListener('open', open)
    card.addEventListener('book', book)
    await load.tap(card, '.book')
    expect(book).toHaveBeenCalledWith(expect.objectContaining({ detail: { id: 9 } }))
    expect(open).not.toHaveBeenCalled()
    await load.tap(card, '.card')
    expect(open).toHaveBeenCalledWith(expect.objectContaining({ detail: { id: 9 } }))
  })
})

describe('calendar-strip', () => {
  const days = [
    ['2026-01-05', '周一', 'open', 12], ['2026-01-06', '周二', 'full', 0], ['2026-01-07', '周三', 'stopped', 0],
    ['2026-01-08', '周四', 'none', 0], ['2026-01-09', '周五', 'open', 3], ['2026-01-10', '周六', 'closed', 0],
    ['2026-01-11', '周日', 'not_released', 0], ['2026-01-12', '周一', 'open', 9],
  ].map(([date, weekday, state, available]) => ({ date, weekday, state, available, total: 20, release_at: '' }))

  test('shows 7 days with their remaining counts and marks the selected one', () => {
    const strip = load.renderComponent('components/calendar-strip/index', { days, selected: '2026-01-09' })
    expect(load.texts(strip, '.remaining')).toEqual(['余12', '约满', '停诊', '无号', '余3', '已截止', '未放号'])
    expect(load.texts(strip, '.date')[0]).toBe('01-05')
    const active = strip.querySelectorAll('.cell--active')
    expect(active).toHaveLength(1)
    expect(active[0].dom.textContent).toContain('01-09')
  })

  test('emits change for a selectable day only', async () => {
    const strip = load.renderComponent('components/calendar-strip/index', { days })
    const change = jest.fn()
    strip.addEventListener('change', change)
    const cells = strip.querySelectorAll('.cell')
    cells[3].dispatchEvent('tap') // none
    cells[6].dispatchEvent('tap') // not_released
    cells[1].dispatchEvent('tap') // full: still viewable
    await load.flush()
    expect(change).toHaveBeenCalledTimes(1)
    expect(change.mock.calls[0][0].detail).toEqual({ date: '2026-01-06', day: days[1] })
  })
})

describe('price-breakdown', () => {
  const quote = { unit_price_fen: 28000, units: 3, base_fen: 84000, night_fen: 6000, nights: 2,
    urgent_fen: 0, discount_fen: 4200, total_fen: 85800 }

  test('lists base, non-zero surcharges and discount, and the total', () => {
    const box = load.renderComponent('components/price-breakdown/index', { price: quote, unit: '天' })
    expect(load.texts(box, '.row-label')).toEqual(['¥280.00 × 3天', '夜间加价(2晚)', '长单优惠'])
    expect(load.texts(box, '.row-value')).toEqual(['¥840.00', '+¥60.00', '-¥42.00'])
    expect(load.text(box, '.total-value')).toBe('¥858.00')
  })

  test('the header folds the lines and emits toggle', async () => {
    const box = load.renderComponent('components/price-breakdown/index', { price: quote, unit: '天' })
    const toggle = jest.fn()
    box.addEventListener('toggle', toggle)
    await load.tap(box, '.head')
    expect(toggle.mock.calls[0][0].detail).toEqual({ expanded: false })
    expect(box.querySelector('.rows')).toBeUndefined()
    expect(load.text(box, '.total-value')).toBe('¥858.00')
  })
})
