#pragma once
// SuperSAM Studio's main window: the canvas in the middle, the elastic controls and figures on the left, the object
// list and mask candidates on the right, the Pareto plot at the bottom; menus for files, jobs and help.
// All model work goes to the inference worker (latest-wins) or the job runners; this class only touches widgets,
// on the GUI thread.

#include <memory>
#include <optional>

#include <QElapsedTimer>
#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>
#include <QStringList>
#include <QUndoStack>

#include "ui/engine/annotations.h"
#include "ui/engine/elastic_annotation.h"
#include "ui/engine/latency_predictor.h"
#include "ui/engine/results_store.h"
#include "ui/engine/subnet_space.h"
#include "ui/widgets/image_canvas.h"
#include "ui/workers/inference_worker.h"

class QAction;
class QButtonGroup;
class QComboBox;
class QLabel;
class QListWidget;
class QMenu;
class QTimer;
class QToolButton;

namespace supersam::ui {

class BackgroundTask;
class ElasticPanel;
class JobDialog;
class JobRunner;
enum class JobKind;
class ParetoPlot;

enum class ExportFormat { CocoPolygons, Yolo, Voc };

// Where an image's annotations are saved: beside it when its folder is writable, else the user's data folder
// (annotations/<stem>.coco.json).
QString annotationFileFor(const QString& imagePath);

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens the shipped demo supernet and/or sample image where they exist (else says how to open them).
  void openDefaults(bool model = true, bool image = true);
  bool openImage(const QString& path);  // errors go to a message box / the status bar; false on failure
  bool openFolder(const QString& dir);
  void loadCheckpoint(const QString& path, const QString& archOverride = {});  // asynchronous
  bool openResults(const QString& dbPath);  // a results database (.sqlite) or CSV; remembered for the next launch
  // At launch without --results: the database shown last time, else (with the shipped demo supernet) the demo's
  // evaluated subnets (resources/models/demo_results.csv). False when neither exists.
  bool restoreResults(bool demoModel);
  bool loadSubnetString(const QString& text);

  // The same as a click on the canvas, in image pixels.
  void addPoint(QPointF imagePos, int label);
  void setBox(QRectF imageRect);
  void clearPrompts();
  void acceptObject();
  void selectCandidate(int i);
  bool saveAnnotations(const QString& jsonPath);  // COCO JSON + <stem>_instances.png beside it
  bool loadAnnotations(const QString& jsonPath);
  // Where the open image's annotations are saved by default: beside the image when that folder is writable, else
  // the user's data folder (annotations/<stem>.coco.json). Empty without an image.
  QString defaultAnnotationPath() const;
  // The object list changed since the last save or open (an autosave copy is kept meanwhile).
  bool hasUnsavedObjects() const { return m_dirty; }
  QString autosavePath() const;  // this image's autosave file (user data folder), empty without an image
  // Renames object i (an instance name, kept in the file; its label, the COCO category, is unchanged).
  void renameObject(int i, const QString& name);
  // Sets object i's label (category) to `label`.
  void relabelObject(int i, const QString& label);
  // Adds a label to the offered list (kept in the settings for the next sessions); `current` selects it.
  void rememberLabel(const QString& label, bool current);
  void deleteObject(int i);
  // Before the open image's objects are replaced (next/previous image, open image/folder/annotations, quit):
  // true to go on. Unsaved objects ask Save / Discard / Cancel; tests and batch modes set the answer instead.
  bool confirmDiscardObjects(const QString& action);
  void setUnsavedObjectsAnswer(int standardButton) { m_unsavedAnswer = standardButton; }
  int unsavedObjectsAsked() const { return m_unsavedAsked; }

  // Widgets and state, for tests and the screenshot/benchmark modes.
  ImageCanvas* canvas() const { return m_canvas; }
  ElasticPanel* elasticPanel() const { return m_elastic; }
  ParetoPlot* paretoPlot() const { return m_pareto; }
  QListWidget* objectList() const { return m_objects; }
  QUndoStack* undoStack() { return &m_undo; }
  const PromptSet& prompts() const { return m_prompts; }
  const std::optional<PredictionResult>& lastResult() const { return m_result; }
  const std::vector<AnnotationObject>& objects() const { return m_annotation.objects; }
  const SubnetSpace& space() const { return m_space; }
  bool modelLoaded() const { return m_space.valid(); }
  bool busy() const { return m_busy; }
  bool hasImage() const { return static_cast<bool>(m_image); }
  QString currentImagePath() const { return m_imagePath; }
  QString lastError() const { return m_lastError; }
  QString modelStatusText() const;  // the status bar's model label
  InferenceWorker* inferenceWorker() const;
  JobRunner* jobRunner() const { return m_jobs; }
  // The dialog of a job kind (created on first use, prefilled with the current model and subnet).
  JobDialog* jobDialog(JobKind kind);
  void setErrorDialogsEnabled(bool on) { m_errorDialogs = on; }  // tests and batch modes: status bar only
  void setLatencyMeasurement(bool on) { m_measureLatency = on; }  // benchmark mode: keep the worker free

  // Elastic annotation (Annotate menu): fast preview of new images and escalation of low-scoring masks.
  void setFastPreview(bool on);
  // "auto" (the front's best at half the cost), "prefix" (shares the chosen subnet's first blocks), "smallest",
  // "fixed" (the subnet current when it was chosen).
  void setPreviewMode(const QString& mode);
  void setEscalation(bool on, double threshold);
  // The subnet that previews a new image under the current settings; empty = no preview.
  model::ElasticConfig previewSubnet() const;
  const std::optional<PredictionResult>& escalationOffer() const { return m_offer; }
  void useEscalatedMask();  // takes the offered mask as the current one (key U)
  // Exports (File > Export annotations), in the background: the open image's objects as they are now, and with
  // wholeFolder the saved annotations of every other image of the open folder. One class list (classes.txt) per
  // destination folder keeps ids stable across images and exports. false when nothing was started.
  bool exportAnnotations(ExportFormat format, const QString& folder, bool wholeFolder);
  // The embedding cache's folder (settings "cache/dir", else core's default under the user's cache folder).
  QString embeddingCacheDir() const;
  void setEmbeddingCacheEnabled(bool on);  // Annotate > Use the embedding cache
  bool preEncoding() const;
  // Jobs > Measure the latency table, in the background; the plot's predicted-latency axis once it is there.
  void measureLatencyTable();
  // The open model's predicted encoder latency on this machine, -1 without a latency table.
  double predictedLatencyMs(const model::ElasticConfig& cfg) const;
  bool hasLatencyTable() const { return m_latency.has_value(); }
  // Brush / eraser (keys B, E; P back to prompts): strokes edit the selected object's mask, one undo step each.
  void setTool(ImageCanvas::Tool tool);
  void applyStroke(const QVector<QPointF>& imagePoints, double radius, bool erase);
  void setObjectMask(int i, const MaskU8& mask);  // used by the undo commands

  // Applies prompts as one undoable step (used by the undo commands).
  void applyPrompts(const PromptSet& prompts);

 signals:
  void modelReady(bool ok);
  void resultShown();       // a prediction (or an encode without prompts) reached the screen
  void latencyShown(double ms);
  void exportDone(bool ok);
  void preEncodeDone(bool ok);
  void latencyTableDone(bool ok);

 public slots:
  void showError(const QString& message);
  void openCalibrateDialog();
  void openTrainDialog();
  void openEvaluateDialog();
  void openSearchDialog();
  void exportSubnet();
  void exportSubnetOnnx();

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildMenus();
  void buildDocks();
  void buildAnnotateMenu();
  void buildToolActions(QMenu* menu);
  void buildExportMenu(QMenu* file);
  void buildCacheActions(QMenu* menu);
  void applyCacheSettings();          // the worker's embedding cache from the settings
  void schedulePreEncode(int delayMs);
  void startPreEncode();
  void buildLatencyActions(QMenu* jobs);
  void reloadLatencyTable();  // from the cache; fills the results' predicted ms
  void exportAnnotationsDialog(ExportFormat format, bool wholeFolder);
  void pushPreviewSettings();  // the worker's PreviewSettings from the menu, the subnet and the open results
  SubnetCostFn previewCost() const;  // predicted ms with a latency table, else GMACs
  void onEscalation(const PredictionResult& r);
  void clearEscalationOffer();
  void upgradePreviewObjects(const PredictionResult& r);
  void restoreSettings();
  void addRecent(const QString& key, const QString& path);
  void rebuildRecentMenus();
  void requestInference(bool measureLatency = true);
  void onResult(const PredictionResult& r);
  void onModelLoaded(const ModelInfo& info, const SubnetSpace& space);
  void onSubnetChanged(const model::ElasticConfig& cfg);
  void updateCandidates();
  void updateCurrentOverlay();
  void refreshObjectsView();
  void stepImage(int delta);
  void updateParetoMarker();
  void showShortcuts();
  void showAbout();
  void openImageDialog();
  void openFolderDialog();
  void openCheckpointDialog();
  void openResultsDialog();
  void saveAnnotationsDialog();
  void loadAnnotationsDialog();
  void objectsChanged();  // marks unsaved, refreshes the list and writes the autosave copy
  void restoreAutosave();
  bool eventFilter(QObject* watched, QEvent* event) override;

  ImageCanvas* m_canvas;
  ElasticPanel* m_elastic;
  ParetoPlot* m_pareto;
  QListWidget* m_objects;
  QComboBox* m_label;
  QToolButton* m_candidateButtons[3];
  QButtonGroup* m_candidateGroup;
  QLabel* m_modelLabel;
  QLabel* m_candidatesLabel = nullptr;
  QLabel* m_timing;
  QMenu* m_recentImages = nullptr;
  QMenu* m_recentModels = nullptr;
  QAction* m_showOverlay = nullptr;
  QAction* m_useReference = nullptr;
  QAction* m_previewAction = nullptr;
  QAction* m_escalateAction = nullptr;
  QToolButton* m_offerButton = nullptr;
  std::vector<QAction*> m_previewModes;
  BackgroundTask* m_exportTask = nullptr;
  BackgroundTask* m_embedTask = nullptr;
  BackgroundTask* m_latencyTask = nullptr;
  std::optional<LatencyPredictor> m_latency;
  QAction* m_useCacheAction = nullptr;
  QAction* m_preEncodeAction = nullptr;
  QTimer* m_preEncodeTimer = nullptr;
  bool m_preEncodeAgain = false;
  QString m_preEncodedFor;  // subnet of the last pre-encoding started
  QString m_archOverride;   // of the open checkpoint
  std::vector<QAction*> m_toolActions;  // prompt, brush, eraser (ImageCanvas::Tool order)
  double m_escalateThreshold = 0.8;
  std::vector<model::ElasticConfig> m_ladder;  // the open results' front, ascending
  std::optional<PredictionResult> m_offer;     // escalation's better mask for the shown prompts
  // Objects accepted while their mask came from the preview, by request id: the chosen subnet's result for the same
  // request replaces their mask (same candidate index) when it arrives.
  struct PreviewUpgrade {
    PromptSet prompts;
    std::string previewSubnet;
    int candidate = 0;
  };
  std::map<uint64_t, PreviewUpgrade> m_upgrades;

  std::unique_ptr<InferenceThread> m_inference;
  JobRunner* m_jobs;
  SubnetSpace m_space;
  ModelInfo m_modelInfo;
  model::ElasticConfig m_subnet;
  QString m_imagePath;
  QStringList m_folder;
  int m_folderIndex = -1;
  std::shared_ptr<const ImageRgb> m_image;
  uint64_t m_imageSerial = 0;
  PromptSet m_prompts;
  QUndoStack m_undo;
  std::optional<PredictionResult> m_result;
  int m_candidate = 0;
  uint64_t m_nextRequest = 1;
  uint64_t m_shownRequest = 0;
  QElapsedTimer m_requestClock;
  std::map<uint64_t, qint64> m_requestStart;  // request id -> ms on m_requestClock when posted
  AnnotationDoc m_annotation;
  std::vector<EvaluatedSubnet> m_results;
  QString m_resultsPath;
  bool m_busy = false;
  bool m_dirty = false;
  bool m_openCancelled = false;
  int m_unsavedAnswer = 0;  // 0 = ask with a message box (QMessageBox::StandardButton otherwise)
  int m_unsavedAsked = 0;
  QString m_loadingModel;   // the checkpoint being loaded (status bar), empty when none
  bool m_errorDialogs = true;
  bool m_measureLatency = true;
  QString m_lastError;
  std::map<int, JobDialog*> m_jobDialogs;
  QPointer<QMessageBox> m_errorBox;
};

}  // namespace supersam::ui
