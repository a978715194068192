// Choosing photos (album or camera, compressed) for the pages that upload them.

// Resolves the chosen files' temp paths, [] when the user cancels.
function chooseImages(count) {
  return new Promise((resolve) => {
    wx.chooseMedia({
      count,
      mediaType: ['image'],
      sourceType: ['album', 'camera'],
      sizeType: ['compressed'],
      success: (res) => resolve((res.tempFiles || []).map((f) => f.tempFilePath)),
      fail: () => resolve([]), // cancelled
    })
  })
}

module.exports = { chooseImages }
