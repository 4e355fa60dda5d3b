#pragma once
// The image canvas: shows the image, the masks of accepted objects, the current mask (coloured fill + outline),
// optionally the difference to the largest subnet's mask, and the prompts. Turns mouse input into prompts:
// left click = foreground point, right click or shift+click = background point, left drag = box.
// Wheel zooms around the cursor, middle drag (or ctrl + left drag) pans, double middle click fits.
// Brush and eraser tools (touch-ups of the selected object's mask): left drag paints (right drag erases with the
// brush), the stroke is shown as it is drawn and handed over on release; the wheel changes the brush size there
// (ctrl + wheel zooms), and a circle under the cursor shows it.
// GUI thread only.

#include <QColor>
#include <QImage>
#include <QPointF>
#include <QRectF>
#include <QVector>
#include <QWidget>

#include "ui/engine/types.h"

namespace supersam::ui {

// A coloured overlay for a mask: translucent fill, opaque 1-pixel outline. Empty mask -> null image.
QImage maskOverlay(const MaskU8& mask, const QColor& color, int fillAlpha = 110);
// Pixels where exactly one of the masks is set, in `color`. Masks of different size -> null image.
QImage differenceOverlay(const MaskU8& a, const MaskU8& b, const QColor& color);

class ImageCanvas : public QWidget {
  Q_OBJECT
 public:
  enum class Tool { Prompt, Brush, Eraser };
  explicit ImageCanvas(QWidget* parent = nullptr);

  void setTool(Tool tool);
  Tool tool() const { return m_tool; }
  // Brush radius in image pixels, clamped to [1, 500].
  void setBrushRadius(double r);
  double brushRadius() const { return m_brushRadius; }

  void setImage(const QImage& image);  // resets zoom to fit
  const QImage& image() const { return m_image; }
  void setCurrentMask(const MaskU8& mask, const QColor& color);
  void clearCurrentMask();
  void setDifference(const QImage& overlay);  // null = none
  // Masks of accepted objects, drawn under the current one.
  void setObjectOverlays(const QVector<QImage>& overlays);
  void setPrompts(const PromptSet& prompts);
  void setOverlayVisible(bool visible);
  bool overlayVisible() const { return m_overlayVisible; }
  bool hasCurrentMask() const { return !m_current.isNull(); }

  QPointF widgetToImage(const QPointF& p) const;
  QPointF imageToWidget(const QPointF& p) const;
  double zoom() const { return m_scale; }

 public slots:
  void fitToWindow();
  void zoomBy(double factor);

 signals:
  void pointAdded(QPointF imagePos, int label);  // label 1 = foreground, 0 = background
  void boxDrawn(QRectF imageRect);
  void hoverMoved(QPointF imagePos);
  // A finished brush or eraser stroke, in image pixels (one point for a click).
  void strokeFinished(QVector<QPointF> imagePoints, double radius, bool erase);
  void brushRadiusChanged(double radius);

 protected:
  void paintEvent(QPaintEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void leaveEvent(QEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  enum class Drag { None, Pending, Box, Pan, Stroke };
  Tool m_tool = Tool::Prompt;
  double m_brushRadius = 8;
  bool m_strokeErase = false;
  QVector<QPointF> m_stroke;  // image pixels
  QPointF m_hover;            // widget position of the cursor (brush outline)
  QImage m_image;
  QImage m_current;
  QImage m_difference;
  QVector<QImage> m_objects;
  PromptSet m_prompts;
  bool m_overlayVisible = true;
  bool m_fitted = true;
  double m_scale = 1.0;
  QPointF m_offset;  // widget position of image pixel (0, 0)
  Drag m_drag = Drag::None;
  Qt::MouseButton m_dragButton = Qt::NoButton;
  bool m_dragShift = false;
  QPointF m_pressPos;
  QPointF m_lastPos;
};

}  // namespace supersam::ui
