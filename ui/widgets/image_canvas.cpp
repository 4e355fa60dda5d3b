#include "ui/widgets/image_canvas.h"

#include <algorithm>
#include <cmath>

#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

namespace supersam::ui {

namespace {
constexpr double kDragThreshold = 5.0;  // widget pixels before a press becomes a box
}

QImage maskOverlay(const MaskU8& mask, const QColor& color, int fillAlpha) {
  if (mask.empty()) return {};
  const int w = mask.width, h = mask.height;
  QImage out(w, h, QImage::Format_ARGB32_Premultiplied);
  out.fill(Qt::transparent);
  const QRgb fill = qPremultiply(qRgba(color.red(), color.green(), color.blue(), fillAlpha));
  const QRgb edge = qRgba(color.red(), color.green(), color.blue(), 255);
  const uint8_t* m = mask.data.data();
  for (int y = 0; y < h; ++y) {
    auto* line = reinterpret_cast<QRgb*>(out.scanLine(y));
    const uint8_t* row = m + static_cast<size_t>(y) * w;
    for (int x = 0; x < w; ++x) {
      if (!row[x]) continue;
      // Outline: a set pixel with an unset 4-neighbour (or on the image border).
      const bool border = x == 0 || y == 0 || x == w - 1 || y == h - 1 || !row[x - 1] || !row[x + 1] ||
                          !row[x - w] || !row[x + w];
      line[x] = border ? edge : fill;
    }
  }
  return out;
}

QImage differenceOverlay(const MaskU8& a, const MaskU8& b, const QColor& color) {
  if (a.empty() || b.empty() || a.width != b.width || a.height != b.height) return {};
  QImage out(a.width, a.height, QImage::Format_ARGB32_Premultiplied);
  out.fill(Qt::transparent);
  const QRgb c = qPremultiply(qRgba(color.red(), color.green(), color.blue(), 170));
  for (int y = 0; y < a.height; ++y) {
    auto* line = reinterpret_cast<QRgb*>(out.scanLine(y));
    const size_t base = static_cast<size_t>(y) * a.width;
    for (int x = 0; x < a.width; ++x) {
      if ((a.data[base + x] != 0) != (b.data[base + x] != 0)) line[x] = c;
    }
  }
  return out;
}

ImageCanvas::ImageCanvas(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(320, 240);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setCursor(Qt::CrossCursor);
}

void ImageCanvas::setImage(const QImage& image) {
  m_image = image.convertToFormat(QImage::Format_RGB32);
  m_current = {};
  m_difference = {};
  m_objects.clear();
  m_prompts = {};
  fitToWindow();
}

void ImageCanvas::setCurrentMask(const MaskU8& mask, const QColor& color) {
  m_current = maskOverlay(mask, color);
  update();
}

void ImageCanvas::clearCurrentMask() {
  m_current = {};
  m_difference = {};
  update();
}

void ImageCanvas::setDifference(const QImage& overlay) {
  m_difference = overlay;
  update();
}

void ImageCanvas::setObjectOverlays(const QVector<QImage>& overlays) {
  m_objects = overlays;
  update();
}

void ImageCanvas::setPrompts(const PromptSet& prompts) {
  m_prompts = prompts;
  update();
}

void ImageCanvas::setOverlayVisible(bool visible) {
  m_overlayVisible = visible;
  update();
}

QPointF ImageCanvas::widgetToImage(const QPointF& p) const { return (p - m_offset) / m_scale; }
QPointF ImageCanvas::imageToWidget(const QPointF& p) const { return p * m_scale + m_offset; }

void ImageCanvas::fitToWindow() {
  m_fitted = true;
  if (m_image.isNull()) {
    m_scale = 1.0;
    m_offset = {};
  } else {
    m_scale = std::min(width() / double(m_image.width()), height() / double(m_image.height()));
    if (m_scale <= 0) m_scale = 1.0;
    m_offset = QPointF((width() - m_image.width() * m_scale) / 2, (height() - m_image.height() * m_scale) / 2);
  }
  update();
}

void ImageCanvas::zoomBy(double factor) {
  const QPointF centre(width() / 2.0, height() / 2.0);
  const QPointF anchor = widgetToImage(centre);
  m_scale = std::clamp(m_scale * factor, 0.02, 64.0);
  m_offset = centre - anchor * m_scale;
  m_fitted = false;
  update();
}

void ImageCanvas::setTool(Tool tool) {
  m_tool = tool;
  m_drag = Drag::None;
  m_stroke.clear();
  setMouseTracking(true);
  update();
}

void ImageCanvas::setBrushRadius(double r) {
  const double c = std::clamp(r, 1.0, 500.0);
  if (c == m_brushRadius) return;
  m_brushRadius = c;
  update();
  emit brushRadiusChanged(c);
}

void ImageCanvas::leaveEvent(QEvent*) {
  m_hover = QPointF(-1e9, -1e9);
  update();
}

void ImageCanvas::resizeEvent(QResizeEvent*) {
  if (m_fitted) fitToWindow();
}

void ImageCanvas::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().color(QPalette::Dark));
  if (m_image.isNull()) {
    p.setPen(palette().color(QPalette::BrightText));
    p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
               tr("Open an image (Ctrl+O) or a folder, and a checkpoint (Ctrl+Shift+O).\n"
                  "Left click: foreground point  -  right or shift click: background point  -  drag: box"));
    return;
  }
  const QRectF target(m_offset, QSizeF(m_image.width() * m_scale, m_image.height() * m_scale));
  p.setRenderHint(QPainter::SmoothPixmapTransform, m_scale < 1.0);
  p.drawImage(target, m_image);
  if (m_overlayVisible) {
    for (const auto& o : m_objects) {
      if (!o.isNull()) p.drawImage(target, o);
    }
    if (!m_current.isNull()) p.drawImage(target, m_current);
    if (!m_difference.isNull()) p.drawImage(target, m_difference);
  }
  p.setRenderHint(QPainter::Antialiasing, true);
  if (m_prompts.box) {
    const auto& b = *m_prompts.box;
    p.setPen(QPen(QColor(255, 220, 0), 2));
    p.setBrush(Qt::NoBrush);
    p.drawRect(QRectF(imageToWidget({b[0], b[1]}), imageToWidget({b[2], b[3]})));
  }
  for (size_t i = 0; i < m_prompts.points.size(); ++i) {
    const QPointF c = imageToWidget({m_prompts.points[i][0], m_prompts.points[i][1]});
    const bool fg = i < m_prompts.labels.size() && m_prompts.labels[i] == 1;
    p.setPen(QPen(Qt::white, 1.5));
    p.setBrush(fg ? QColor(40, 200, 60) : QColor(220, 40, 40));
    p.drawEllipse(c, 5.5, 5.5);
  }
  if (m_drag == Drag::Box) {
    p.setPen(QPen(QColor(255, 220, 0), 1.5, Qt::DashLine));
    p.setBrush(Qt::NoBrush);
    p.drawRect(QRectF(m_pressPos, m_lastPos).normalized());
  }
  if (m_tool != Tool::Prompt) {
    const double r = m_brushRadius * m_scale;
    const QColor c = (m_tool == Tool::Eraser || m_strokeErase) ? QColor(255, 60, 60) : QColor(60, 220, 255);
    if (m_drag == Drag::Stroke && !m_stroke.isEmpty()) {
      QPen pen(QColor(c.red(), c.green(), c.blue(), 120), 2 * r, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
      p.setPen(pen);
      QPolygonF line;
      for (const auto& q : m_stroke) line << imageToWidget(q);
      if (line.size() == 1) line << line.front();
      p.drawPolyline(line);
    }
    p.setPen(QPen(c, 1.5));
    p.setBrush(Qt::NoBrush);
    p.drawEllipse(m_hover, r, r);
  }
}

void ImageCanvas::mousePressEvent(QMouseEvent* e) {
  m_pressPos = m_lastPos = e->position();
  m_dragButton = e->button();
  m_dragShift = e->modifiers() & Qt::ShiftModifier;
  if (e->button() == Qt::MiddleButton ||
      (e->button() == Qt::LeftButton && (e->modifiers() & Qt::ControlModifier))) {
    m_drag = Drag::Pan;
    setCursor(Qt::ClosedHandCursor);
  } else if (m_tool != Tool::Prompt && !m_image.isNull() &&
             (e->button() == Qt::LeftButton || e->button() == Qt::RightButton)) {
    m_drag = Drag::Stroke;
    m_strokeErase = m_tool == Tool::Eraser || e->button() == Qt::RightButton;
    m_stroke = {widgetToImage(e->position())};
    update();
  } else if (e->button() == Qt::LeftButton || e->button() == Qt::RightButton) {
    m_drag = Drag::Pending;
  }
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
  m_hover = pos;
  if (m_tool != Tool::Prompt) update();
  if (m_drag == Drag::Stroke) m_stroke.push_back(widgetToImage(pos));
  if (m_drag == Drag::Pan) {
    m_offset += pos - m_lastPos;
    m_fitted = false;
    update();
  } else if (m_drag == Drag::Pending && m_dragButton == Qt::LeftButton &&
             QLineF(pos, m_pressPos).length() > kDragThreshold) {
    m_drag = Drag::Box;
  }
  if (m_drag == Drag::Box) update();
  m_lastPos = pos;
  if (!m_image.isNull()) emit hoverMoved(widgetToImage(pos));
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent* e) {
  const Drag drag = m_drag;
  m_drag = Drag::None;
  setCursor(Qt::CrossCursor);
  if (m_image.isNull()) return;
  const QRectF bounds(0, 0, m_image.width(), m_image.height());
  if (drag == Drag::Stroke) {
    QVector<QPointF> stroke;
    stroke.swap(m_stroke);
    update();
    if (!stroke.isEmpty()) emit strokeFinished(stroke, m_brushRadius, m_strokeErase);
    m_strokeErase = false;
    return;
  }
  if (drag == Drag::Box) {
    QRectF r = QRectF(widgetToImage(m_pressPos), widgetToImage(e->position())).normalized() & bounds;
    update();
    if (r.width() >= 1 && r.height() >= 1) emit boxDrawn(r);
  } else if (drag == Drag::Pending) {
    const QPointF ip = widgetToImage(m_pressPos);
    if (!bounds.contains(ip)) return;
    const int label = (m_dragButton == Qt::RightButton || m_dragShift) ? 0 : 1;
    emit pointAdded(ip, label);
  }
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent* e) {
  if (e->button() == Qt::MiddleButton) {
    fitToWindow();
  } else {
    mousePressEvent(e);  // a fast second click is still a point
  }
}

void ImageCanvas::wheelEvent(QWheelEvent* e) {
  if (m_image.isNull()) return;
  const double steps = e->angleDelta().y() / 120.0;
  if (m_tool != Tool::Prompt && !(e->modifiers() & Qt::ControlModifier)) {
    setBrushRadius(std::round(m_brushRadius * std::pow(1.15, steps)) + (steps > 0 ? 1 : steps < 0 ? -1 : 0));
    return;
  }
  const double factor = std::pow(1.2, steps);
  const QPointF anchor = widgetToImage(e->position());
  m_scale = std::clamp(m_scale * factor, 0.02, 64.0);
  m_offset = e->position() - anchor * m_scale;
  m_fitted = false;
  update();
}

}  // namespace supersam::ui
