// The one way pages show loading, empty and error states:
//   <state-view state="{{state}}" text="{{errorText}}" bind:retry="retry" />
// The retry handler gets the event: bind one that takes no argument (paged-list's retry(), or a
// load() with no parameters), never a load(page) the event would fill.
// state: 'loading' | 'empty' | 'error' | '' (renders nothing: show the content instead).
// Empty may carry an action button (actionText → 'action' event); error always offers 重试
// (→ 'retry' event).
const DEFAULT_TEXT = { loading: '加载中…', empty: '暂无数据', error: '加载失败' }

Component({
  properties: {
    state: { type: String, value: '' },
    text: { type: String, value: '' },
    actionText: { type: String, value: '' },
  },
  data: { message: '' },
  observers: {
    'state, text': function update(state, text) {
      this.setData({ message: text || DEFAULT_TEXT[state] || '' })
    },
  },
  methods: {
    onRetry() {
      this.triggerEvent('retry', {})
    },
    onAction() {
      this.triggerEvent('action', {})
    },
  },
})
