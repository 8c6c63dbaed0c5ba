// Small line charts on <canvas>, no library: a series is an array of numbers (null = no data).
"use strict";

const WaitroomCharts = (() => {
  const COLOURS = { main: "#2563eb", second: "#dc2626" };

  /** Draws `series` (arrays of equal length) on `canvas`, scaled to their common maximum. */
  function draw(canvas, series, colours) {
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    const values = series.flat().filter((v) => v !== null && Number.isFinite(v));
    const max = Math.max(1, ...values);
    ctx.strokeStyle = "#e5e7eb";
    ctx.beginPath();
    ctx.moveTo(0, height - 0.5);
    ctx.lineTo(width, height - 0.5);
    ctx.stroke();
    ctx.fillStyle = "#6b7280";
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(formatNumber(max), 2, 10);
    series.forEach((points, index) => {
      ctx.strokeStyle = colours[index] || COLOURS.main;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let started = false;
      points.forEach((value, i) => {
        if (value === null || !Number.isFinite(value)) return;
        const x = points.length <= 1 ? width : (i / (points.length - 1)) * width;
        const y = height - 2 - (value / max) * (height - 14);
        if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        started = true;
      });
      ctx.stroke();
    });
  }

  function formatNumber(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "–";
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  return { draw, formatNumber, COLOURS };
})();
