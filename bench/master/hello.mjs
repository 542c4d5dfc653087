// The smallest fetch app: what the master's scheduling costs, not the app.
export default () => new Response('hello');
