export function App() {
  return <h1>SIGIL</h1>;
}
