"""The Dash page that draws scenes: one Crystal Toolkit scene, fed from the browser side.

Playwright hands the page a scene's JSON text. Once the page is fitted for batches (below), it
gives the scene straight to Crystal Toolkit's scene object and reads the canvas as PNG: the two
calls the component's own data and PNG-export handlers make (the export is what the Materials
Project's image button does), without the round trip through Dash's store and React (a tenth
to a fifth of the page's CPU per image; docs/rendering.md). Until then, or if the scene object
cannot be reached, the page sets the scene on the CrystalToolkitScene together with an
`imageRequest`, and a clientside callback on the export's timestamp resolves the promise
Playwright awaits. Either way completion is read from the page, not guessed; no server round
trip per structure; the server only serves the page.
"""

import contextlib
import logging
import threading

import dash
from dash import Input, Output, State, html
from dash_mp_components import CrystalToolkitScene
from werkzeug.serving import WSGIRequestHandler, make_server

log = logging.getLogger(__name__)

# The scene component reads `origin` in its constructor: it needs a scene, even an empty one.
EMPTY_SCENE = {"name": "empty", "contents": [], "origin": [0, 0, 0]}

# Lifts dash-mp-components' cap on the scene width (calc(95vh - 3rem)) so the canvas is the
# full viewport, and defines what Playwright calls on the page:
# - render(sceneText): a promise of the scene's PNG export (a data URL).
# - fitForBatches(): reaches Crystal Toolkit's scene object through React's fiber tree and
#   changes four things for drawing thousands of scenes in one page. (0) render() hands scenes
#   to that object directly: addToScene(scene, fit camera), as the component does when its data
#   changes (its visibility toggles are unset here), then the canvas's PNG, as its export does;
#   same pixels (checked in the tests), without Dash's store in between. (1) The scene draws each
#   new structure three times (camera fit, export, once more after) though only the export's
#   frame is seen: renderScene() becomes a no-op and the canvas draws once, when it is read;
#   same pixels (checked in the tests), a third of the WebGL work. (2) Its object builder makes
#   a new sphere or cylinder geometry for every group of atoms and every bond, identical ones
#   again and again (uniform radii): geometries are now made once per shape and shared, the
#   same vertices, so the same pixels, for less than half the page's CPU. (3) Replacing a
#   scene drops the old one without freeing its WebGL buffers, ~4 MB a structure in the
#   renderer and the GPU process each: the old scene's own geometries are now disposed (the
#   shared ones stay; materials too, so that their compiled shader programs are kept rather
#   than compiled again for every structure). Returns false, changing nothing, when it cannot
#   find the scene object or its builder.
PAGE_HEAD = """
<style>body{margin:0;overflow:hidden}.mpc-scene-square-wrapper{max-width:none!important}</style>
<script>
window.matfuse = {
  pending: null,
  scene: null,
  render: function (sceneText) {
    var self = this;
    if (self.scene) {
      return new Promise(function (resolve) {
        self.scene.addToScene(JSON.parse(sceneText), true);
        resolve(self.scene.renderer.domElement.toDataURL('image/png'));
      });
    }
    return new Promise(function (resolve, reject) {
      self.pending = {resolve: resolve, reject: reject};
      var scene = JSON.parse(sceneText);
      window.dash_clientside.set_props('scene', {data: scene, imageRequest: {filetype: 'png'}});
    });
  },
  settle: function (imageData, error) {
    var pending = this.pending;
    this.pending = null;
    if (!pending) { return; }
    if (error) { pending.reject(new Error(error)); } else { pending.resolve(imageData); }
  },
  findScene: function () {
    var canvas = document.querySelector('#scene canvas');
    var mount = canvas.parentElement;
    var key = Object.keys(mount).find(function (k) {
      return k.indexOf('__reactFiber$') === 0 || k.indexOf('__reactInternalInstance$') === 0;
    });
    for (var fiber = key && mount[key]; fiber; fiber = fiber.return) {
      for (var hook = fiber.memoizedState; hook && typeof hook === 'object' && 'next' in hook;
           hook = hook.next) {
        var scene = hook.memoizedState && hook.memoizedState.current;
        if (scene && typeof scene.renderScene === 'function' && scene.renderer
            && scene.renderer.domElement === canvas
            && typeof scene.removeObjectByName === 'function') {
          return scene;
        }
      }
    }
    return null;
  },
  fitForBatches: function () {
    var scene = this.findScene();
    if (!scene || !scene.objectBuilder) { return false; }
    this.drawOnlyWhenRead(scene, scene.renderer.domElement);
    var shared = this.shareGeometries(scene.objectBuilder);
    this.disposeReplacedScenes(scene, shared);
    this.scene = scene;
    return true;
  },
  shareGeometries: function (builder) {
    var shared = new Set();
    ['getSphereGeometry', 'getCylinderGeometry', 'getHeadGeometry'].forEach(function (name) {
      var make = builder[name].bind(builder);
      var made = new Map();
      builder[name] = function () {
        var key = JSON.stringify(Array.prototype.slice.call(arguments));
        var geometry = made.get(key);
        if (!geometry) {
          if (made.size >= 256) {  // odd radii: keep the memo small
            made.forEach(function (old) { shared.delete(old); old.dispose(); });
            made.clear();
          }
          geometry = make.apply(null, arguments);
          made.set(key, geometry);
          shared.add(geometry);
        }
        return geometry;
      };
    });
    return shared;
  },
  drawOnlyWhenRead: function (scene, canvas) {
    var draw = scene.renderScene.bind(scene);
    var read = canvas.toDataURL.bind(canvas);
    scene.renderScene = function () {};
    canvas.toDataURL = function () { draw(); return read.apply(null, arguments); };
  },
  disposeReplacedScenes: function (scene, shared) {
    var remove = scene.removeObjectByName.bind(scene);
    scene.removeObjectByName = function (name) {
      var old = scene.scene.getObjectByName(name);
      remove(name);
      if (!old) { return; }
      old.traverse(function (node) {
        if (node.geometry && !shared.has(node.geometry)) { node.geometry.dispose(); }
      });
    };
  }
};
window.addEventListener('error', function (e) { window.matfuse.settle(null, 'page error: ' + e.message); });
window.addEventListener('unhandledrejection', function (e) {
  window.matfuse.settle(null, 'page error: ' + e.reason);
});
</script>
"""

# Ready when Dash has mounted the scene (its canvas exists) and client-side set_props works.
PAGE_READY_JS = (
    "() => !!(window.dash_clientside && window.dash_clientside.set_props"
    " && document.querySelector('#scene canvas'))"
)
FIT_FOR_BATCHES_JS = "() => window.matfuse.fitForBatches()"
RENDER_JS = "sceneText => window.matfuse.render(sceneText)"


def scene_settings(background, zoom):
    """CrystalToolkitScene settings: opaque background, no axes, structure centred and fitted."""
    return {
        "renderer": "webgl",
        "extractAxis": True,
        "secondaryObjectView": False,
        "transparentBackground": False,
        "background": background,
        "defaultZoom": zoom,
        "zoomToFit2D": True,
    }


def build_app(size, background, zoom):
    """The Dash app: one square scene of `size` pixels and the export callback."""
    app = dash.Dash(
        __name__, serve_locally=True, update_title=None, include_assets_files=False
    )
    app.index_string = app.index_string.replace("</head>", PAGE_HEAD + "</head>")
    app.layout = html.Div(
        [
            html.Div(id="sink", hidden=True),
            html.Div(
                CrystalToolkitScene(
                    id="scene",
                    data=EMPTY_SCENE,
                    settings=scene_settings(background, zoom),
                    sceneSize="100%",
                    axisView="HIDDEN",
                    showControls=False,
                ),
                style={"width": f"{size}px", "height": f"{size}px"},
            ),
        ]
    )
    app.clientside_callback(
        """function (timestamp, imageData) {
            if (timestamp) { window.matfuse.settle(imageData, null); }
            return window.dash_clientside.no_update;
        }""",
        Output("sink", "children"),
        Input("scene", "imageDataTimestamp"),
        State("scene", "imageData"),
    )
    return app


class _QuietRequests(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        """Page loads are not news; errors still go to werkzeug's log."""


@contextlib.contextmanager
def serve(app):
    """Serve the app on 127.0.0.1 at a free port for the duration; yields its URL."""
    server = make_server("127.0.0.1", 0, app.server, threaded=True, request_handler=_QuietRequests)
    thread = threading.Thread(target=server.serve_forever, name="dash-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    log.info("serving the Crystal Toolkit page on %s", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        log.info("stopped the page server on %s", url)
