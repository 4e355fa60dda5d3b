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
}

void ImageCanvas::mousePressEvent(QMouseEvent* e) {
  m_pressPos = m_lastPos = e->position();
  m_dragButton = e->button();
  m_dragShift = e->modifiers() & Qt::ShiftModifier;
  if (e->button() == Qt::MiddleButton ||
      (e->button() == Qt::LeftButton && (e->modifiers() & Qt::ControlModifier))) {
    m_drag = Drag::Pan;
    setCursor(Qt::ClosedHandCursor);
  } else if (e->button() == Qt::LeftButton || e->button() == Qt::RightButton) {
    m_drag = Drag::Pending;
  }
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
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
  const double factor = std::pow(1.2, steps);
  const QPointF anchor = widgetToImage(e->position());
  m_scale = std::clamp(m_scale * factor, 0.02, 64.0);
  m_offset = e->position() - anchor * m_scale;
  m_fitted = false;
  update();
}

}  // namespace supersam::ui
