// The UI's entry point: build the window and connect it to the engine host
// (boot.ts, the page's first script, has already started the connection).
import './styles.css'
import { App } from './App.ts'
import { connect } from './connection.ts'

// Marks for the bench's breakdown of startup (bench/ui.ts reads them).
performance.mark('loom:script')
const app = new App()
document.getElementById('app')!.replaceWith(app.element)
connect({
  open: (client, hello) => {
    performance.mark('loom:hello')
    void app.open(client, hello)
    performance.mark('loom:notebook')
  },
  link: (state) => app.link(state),
  refused: (message) => app.refused(message),
})
