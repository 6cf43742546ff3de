// ROS 2 names for the swarm: a namespace per robot and topics resolved under it. ROS names are tokens of
// letters, digits and single underscores (not starting with a digit) joined by '/', so robot ids such as
// 'epuck-3' are mapped ('/epuck_3'); two robots that would share a name are refused at load.
const TOKEN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validTokens(tokens: readonly string[]): boolean {
  return tokens.length > 0 && tokens.every((t) => TOKEN.test(t) && !t.includes('__'));
}

/** '/' or '/a/b': an absolute ROS namespace. */
export function isNamespace(ns: string): boolean {
  return ns === '/' || (ns.startsWith('/') && validTokens(ns.slice(1).split('/')));
}

/** A topic or service name: absolute ('/a/b'), relative ('a/b') or private ('~/a'). */
export function isTopicName(name: string): boolean {
  if (name.startsWith('~/')) return validTokens(name.slice(2).split('/'));
  return validTokens((name.startsWith('/') ? name.slice(1) : name).split('/'));
}

/** A node name: one token. */
export function isNodeName(name: string): boolean {
  return validTokens([name]);
}

/** The default namespace of a robot: '/' + its id with every run of characters ROS refuses mapped to one '_'. */
export function namespaceForId(id: string): string {
  let token = id.replace(/[^A-Za-z0-9_]+/g, '_').replace(/_+/g, '_');
  if (/^[0-9]/.test(token)) token = `_${token}`;
  return `/${token}`;
}

/** A robot's topic: relative names live under its namespace, absolute ones are kept. */
export function robotTopic(ns: string, topic: string): string {
  if (topic.startsWith('/')) return topic;
  return ns === '/' ? `/${topic}` : `${ns}/${topic}`;
}
