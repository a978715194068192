/* The statistics charts (ECharts, vendored): the data is the JSON the page embeds
   (#stats-data: the staff API's answers for the filters shown). No inline script: the
   console's CSP allows scripts from this origin only. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('stats-data').textContent);
  var charts = [];
  var yuan = function (fen) { return Math.round(fen) / 100; };
  var percent = function (rate) { return rate === null ? null : Math.round(rate * 1000) / 10; };
  var grid = { left: 8, right: 8, top: 36, bottom: 8, containLabel: true };
  var legend = { top: 0, type: 'scroll' };

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    option.animation = false;  // drawn at once: screenshots and slow phones
    chart.setOption(option);
    charts.push(chart);
  }

  var trend = data.trend.items;
  draw('chart-trend', {
    tooltip: { trigger: 'axis' }, legend: legend, grid: grid,
    xAxis: { type: 'category', data: trend.map(function (p) { return p.period; }) },
    yAxis: [{ type: 'value', name: '单', minInterval: 1 }, { type: 'value', name: '元' }],
    series: [
      { name: '挂号', type: 'line', data: trend.map(function (p) { return p.registrations; }) },
      { name: '陪护', type: 'line', data: trend.map(function (p) { return p.care_orders; }) },
      { name: '挂号金额', type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' },
        data: trend.map(function (p) { return yuan(p.registration_fen); }) },
      { name: '陪护金额', type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' },
        data: trend.map(function (p) { return yuan(p.care_fen); }) }
    ]
  });

  var rows = data.dimension.items.slice().reverse();  // the largest at the top
  draw('chart-dimension', {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } }, legend: legend, grid: grid,
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rows.map(function (r) { return r.name; }),
             axisLabel: { width: 110, overflow: 'truncate' } },
    series: [
      { name: '挂号', type: 'bar', stack: 'orders', data: rows.map(function (r) { return r.registrations; }) },
      { name: '陪护', type: 'bar', stack: 'orders', data: rows.map(function (r) { return r.care_orders; }) }
    ]
  });

  draw('chart-ratings', {
    tooltip: { trigger: 'item', formatter: '{b}: {c} 条 ({d}%)' }, legend: legend,
    series: [{ name: '评价', type: 'pie', radius: ['35%', '65%'], center: ['50%', '58%'],
               data: data.satisfaction.items.map(function (i) {
                 return { name: i.stars + '星', value: i.reviews };
               }) }]
  });

  var buckets = data.caregivers.income_buckets;
  draw('chart-income', {
    tooltip: { trigger: 'axis' }, grid: grid, legend: legend,
    xAxis: { type: 'category', data: buckets.map(function (b) { return b.label; }),
             axisLabel: { interval: 0, rotate: 30 } },
    yAxis: { type: 'value', name: '人', minInterval: 1 },
    series: [{ name: '护工人数', type: 'bar', data: buckets.map(function (b) { return b.caregivers; }) }]
  });

  var days = data.caregivers.items;
  draw('chart-caregivers', {
    tooltip: { trigger: 'axis' }, legend: legend, grid: grid,
    xAxis: { type: 'category', data: days.map(function (d) { return d.day; }) },
    yAxis: { type: 'value', name: '%', max: 100 },
    series: [
      { name: '接单率', type: 'line', connectNulls: true, data: days.map(function (d) { return percent(d.accept_rate); }) },
      { name: '完成率', type: 'line', connectNulls: true, data: days.map(function (d) { return percent(d.completion_rate); }) }
    ]
  });

  var behaviour = data.behaviour.items;
  draw('chart-behaviour', {
    tooltip: { trigger: 'axis' }, legend: legend, grid: grid,
    xAxis: { type: 'category', data: behaviour.map(function (d) { return d.day; }) },
    yAxis: [{ type: 'value', name: '次', minInterval: 1 }, { type: 'value', name: '%', max: 100 }],
    series: [
      { name: '登录', type: 'bar', data: behaviour.map(function (d) { return d.logins; }) },
      { name: '搜索', type: 'bar', data: behaviour.map(function (d) { return d.searches; }) },
      { name: '转化率', type: 'line', yAxisIndex: 1, connectNulls: true,
        data: behaviour.map(function (d) { return percent(d.conversion_rate); }) }
    ]
  });

  window.addEventListener('resize', function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
}());
