// The UI's entry point: build the window and connect it to the engine host.
import './styles.css'
import { App } from './App.ts'
import { connect } from './connection.ts'

const app = new App()
document.getElementById('app')!.replaceWith(app.element)
connect({
  open: (client, hello) => void app.open(client, hello),
  link: (state) => app.link(state),
})
