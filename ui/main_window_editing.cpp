// MainWindow: brush and eraser touch-ups of the selected object's mask, each stroke one undoable step.
#include <QAction>
#include <QActionGroup>
#include <QListWidget>
#include <QMenu>
#include <QStatusBar>
#include <QUndoCommand>

#include "ui/engine/mask_edit.h"
#include "ui/main_window.h"
#include "ui/widgets/image_canvas.h"

namespace supersam::ui {

namespace {
class MaskEditCommand : public QUndoCommand {
 public:
  MaskEditCommand(MainWindow* w, int object, MaskU8 before, MaskU8 after, const QString& text)
      : QUndoCommand(text), m_window(w), m_object(object), m_before(std::move(before)), m_after(std::move(after)) {}
  void undo() override { m_window->setObjectMask(m_object, m_before); }
  void redo() override { m_window->setObjectMask(m_object, m_after); }

 private:
  MainWindow* m_window;
  int m_object;
  MaskU8 m_before, m_after;
};
}  // namespace

void MainWindow::buildToolActions(QMenu* menu) {
  auto* group = new QActionGroup(this);
  const auto addTool = [&](const QString& text, const QKeySequence& key, ImageCanvas::Tool tool) {
    QAction* a = menu->addAction(text);
    a->setShortcut(key);
    a->setCheckable(true);
    a->setChecked(tool == ImageCanvas::Tool::Prompt);
    group->addAction(a);
    connect(a, &QAction::triggered, this, [this, tool] { setTool(tool); });
    m_toolActions.push_back(a);
  };
  addTool(tr("&Prompt tool (points and boxes)"), QKeySequence(Qt::Key_P), ImageCanvas::Tool::Prompt);
  addTool(tr("&Brush (paints the selected object's mask)"), QKeySequence(Qt::Key_B), ImageCanvas::Tool::Brush);
  addTool(tr("E&raser (erases from the selected object's mask)"), QKeySequence(Qt::Key_E),
          ImageCanvas::Tool::Eraser);
  menu->addAction(tr("&Larger brush"), QKeySequence(Qt::Key_Period), this,
                  [this] { m_canvas->setBrushRadius(m_canvas->brushRadius() * 1.25 + 1); });
  menu->addAction(tr("&Smaller brush"), QKeySequence(Qt::Key_Comma), this,
                  [this] { m_canvas->setBrushRadius(m_canvas->brushRadius() / 1.25 - 1); });
  connect(m_canvas, &ImageCanvas::strokeFinished, this, &MainWindow::applyStroke);
  connect(m_canvas, &ImageCanvas::brushRadiusChanged, this, [this](double r) {
    statusBar()->showMessage(tr("Brush radius %1 pixels").arg(r, 0, 'f', 0), 2000);
  });
}

void MainWindow::setTool(ImageCanvas::Tool tool) {
  m_canvas->setTool(tool);
  const int i = static_cast<int>(tool);
  if (i < static_cast<int>(m_toolActions.size())) m_toolActions[i]->setChecked(true);
  if (tool == ImageCanvas::Tool::Prompt) return;
  if (m_annotation.objects.empty()) {
    statusBar()->showMessage(tr("Accept an object first (Enter): the brush and eraser touch up an object's mask"),
                             6000);
  } else if (m_objects->currentRow() < 0) {
    m_objects->setCurrentRow(static_cast<int>(m_annotation.objects.size()) - 1);  // the newest object
  }
}

void MainWindow::applyStroke(const QVector<QPointF>& points, double radius, bool erase) {
  const int i = m_objects->currentRow();
  if (i < 0 || i >= static_cast<int>(m_annotation.objects.size())) {
    statusBar()->showMessage(tr("Select an object in the list to paint on its mask"), 5000);
    return;
  }
  std::vector<std::array<float, 2>> stroke;
  for (const auto& p : points) stroke.push_back({static_cast<float>(p.x()), static_cast<float>(p.y())});
  const MaskU8 before = m_annotation.objects[i].mask;
  MaskU8 after;
  try {
    after = paintStroke(before, stroke, static_cast<float>(radius), erase);
  } catch (const std::exception& e) {
    showError(QString::fromStdString(e.what()));
    return;
  }
  if (after.data == before.data) return;
  m_undo.push(new MaskEditCommand(this, i, before, after, erase ? tr("erase") : tr("brush")));
}

void MainWindow::setObjectMask(int i, const MaskU8& mask) {
  if (i < 0 || i >= static_cast<int>(m_annotation.objects.size())) return;
  auto& o = m_annotation.objects[i];
  // An edited mask is the user's: the chosen subnet's result no longer replaces a preview mask.
  for (auto it = m_upgrades.begin(); it != m_upgrades.end();) {
    it = it->second.prompts == o.prompts ? m_upgrades.erase(it) : std::next(it);
  }
  o.mask = mask;
  objectsChanged();
  m_objects->setCurrentRow(i);
}

}  // namespace supersam::ui
