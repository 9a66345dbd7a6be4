// Rejects JavaScript that parses in Node but fails on the board's runtime. Espruino 2v29: syntax it
// cannot parse, globals and methods it lacks, function declarations used before they run (Espruino does
// not hoist them), and the class forms it cannot run. Kaluma 1.2.1 (JerryScript 2.4): see kaluma-check.mjs.
// Works on esbuild's output; positions map back to the sources.
import * as acorn from 'acorn'
import { base as walkBase } from 'acorn-walk'
import { KALUMA, FUNCTIONS, checkKalumaCalls } from './kaluma-check.mjs'

const MISSING_GLOBALS = ['Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Symbol', 'Proxy', 'Reflect', 'TextEncoder', 'TextDecoder', 'Buffer', 'queueMicrotask', 'setImmediate', 'globalThis', 'BigInt']

// Property reads that exist in Node but not on Espruino, with what to write instead.
const MISSING_MEMBERS = {
  includes: 'Array.prototype.includes is missing: use indexOf(x) >= 0',
  padStart: 'String.prototype.padStart is missing: concatenate and slice, e.g. ("000" + s).slice(-3)',
  padEnd: 'String.prototype.padEnd is missing: concatenate and slice',
  'Array.from': 'Array.from is missing: build the array with a loop',
  'Number.isInteger': 'Number.isInteger is missing: use x % 1 === 0',
  'Object.fromEntries': 'Object.fromEntries is missing: build the object with a loop',
  'process.nextTick': 'process.nextTick is missing: use setTimeout(fn, 0)'
}

const UNPARSABLE = {
  ObjectPattern: 'destructuring',
  ArrayPattern: 'destructuring',
  AssignmentPattern: 'a default parameter',
  RestElement: 'a rest parameter',
  SpreadElement: 'spread syntax',
  ChainExpression: 'optional chaining (?.)',
  AwaitExpression: 'await',
  YieldExpression: 'a generator (yield)'
}

// Regular expression forms Espruino 2v29's own engine (src/jsregex.c) does not match: such a regex
// matches nothing there, silently (seen on its Linux build: /^x{2}$/, /^(ab)?$/, /^(ab)+$/).
const REGEX_FORMS = [
  [/(^|[^\\])\{\d+(,\d*)?\}/, 'a {m,n} quantifier: Espruino 2v29\'s regular expressions have none, the regex matches nothing there (fix: a plain pattern and a length check)'],
  [/(^|[^\\])\)[?*+]/, 'a group with ?, * or + after it: Espruino 2v29\'s regular expressions cannot repeat or skip a group, the regex matches nothing there (fix: test the parts in code, e.g. split())']
]

const ESPRUINO = {
  name: 'Espruino 2v29',
  unparsable: UNPARSABLE,
  missingGlobals: MISSING_GLOBALS,
  missingMembers: MISSING_MEMBERS,
  espruinoOnly: true
}

export const RUNTIMES = { espruino: ESPRUINO, kaluma: KALUMA }

/**
 * @param {string} code JavaScript as esbuild wrote it
 * @param {'espruino'|'kaluma'} runtime the runtime the bundle is for
 * @param {(line: number, column: number) => string} where turns a 1-based line and 0-based column into "file:line"
 * @returns {string[]} one message per problem, empty when the runtime can run the code
 */
export function checkRuntime (code, runtime, where = (line, column) => `bundle:${line}:${column + 1}`) {
  const rules = RUNTIMES[runtime]
  const problems = []
  let ast
  try {
    // Kaluma parses the program in strict mode (src/runtime.c km_runtime_load); a module is strict.
    ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: rules.strict ? 'module' : 'script', locations: true })
  } catch (err) {
    return [`${where(err.loc.line, err.loc.column)}: cannot parse${rules.strict ? ' (strict mode)' : ''}: ${err.message}`]
  }
  const report = (node, text) => problems.push(`${where(node.loc.start.line, node.loc.start.column)}: ${text}`)
  const refs = []
  analyse(ast, rules, report, refs)
  if (rules.espruinoOnly) {
    checkDeclarationOrder(refs, report)
    checkRootNames(ast, report)
  } else checkKalumaCalls(ast, code, report)
  return [...new Set(problems)]
}

// Names Espruino 2v29 already has at the root scope of the boards this firmware runs on (ESP32, and the
// Linux build the bench uses) that a minified name (one or two characters) could take: the class E
// and pins (D0 on ESP32; P1 and P3 on the ESP32 CYD, libs/misc/jswrap_esp32_cyd.c: a letter and
// digits). esbuild never takes a name the bundle itself uses, such as E.
const ROOT_NAME = /^(E|[A-Z][0-9]+)$/

// The program's top-level names that would replace one of Espruino's own at its root scope, where the
// bundle runs (build.mjs): the minifier picks them, so the fix is a rename in src/ that moves its choice.
function checkRootNames (ast, report) {
  const names = ast.body.flatMap(node =>
    node.type === 'VariableDeclaration' ? node.declarations.flatMap(d => boundNames(d.id)) : node.id ? [node.id] : [])
  for (const id of names.filter(id => ROOT_NAME.test(id.name))) {
    report(id, `a top-level variable ${id.name}, which Espruino already has at its root scope (a pin or E): the program would replace it (fix: report this; renaming a top-level function or variable in src/ changes the names esbuild picks)`)
  }
}

class Scope {
  constructor (node, parent, isFunction, fnDepth) {
    this.node = node
    this.fnDepth = fnDepth
    this.parent = parent
    this.isFunction = isFunction
    this.names = new Map()
  }

  functionScope () {
    let s = this
    while (!s.isFunction) s = s.parent
    return s
  }

  lookup (name) {
    for (let s = this; s; s = s.parent) if (s.names.has(name)) return s.names.get(name)
    return undefined
  }
}

// Names a pattern binds (params and declarators); destructuring itself is reported elsewhere.
function boundNames (pattern, out = []) {
  if (!pattern) return out
  if (pattern.type === 'Identifier') out.push(pattern)
  else if (pattern.type === 'ObjectPattern') pattern.properties.forEach(p => boundNames(p.type === 'RestElement' ? p.argument : p.value, out))
  else if (pattern.type === 'ArrayPattern') pattern.elements.forEach(e => boundNames(e, out))
  else if (pattern.type === 'AssignmentPattern') boundNames(pattern.left, out)
  else if (pattern.type === 'RestElement') boundNames(pattern.argument, out)
  return out
}

// Declares, before any reference is resolved, every name a scope's own statements bind.
function declare (scope, statements) {
  const visit = (node, inNestedBlock) => {
    if (!node || typeof node.type !== 'string') return
    switch (node.type) {
      case 'VariableDeclaration':
        for (const d of node.declarations) {
          const target = node.kind === 'var' ? scope.functionScope() : (inNestedBlock ? null : scope)
          if (target) boundNames(d.id).forEach(id => target.names.set(id.name, { node: d, kind: node.kind, scope: target }))
        }
        if (node.kind === 'var') node.declarations.forEach(d => visit(d.init, true))
        return
      case 'FunctionDeclaration':
        if (!inNestedBlock) scope.names.set(node.id.name, { node, kind: 'function', scope })
        return
      case 'ClassDeclaration':
        if (!inNestedBlock) scope.names.set(node.id.name, { node, kind: 'class', scope })
        return
      default:
        if (FUNCTIONS.has(node.type) || node.type === 'ClassExpression') return
        // var inside nested blocks still belongs to the function scope
        for (const key of Object.keys(node)) {
          const child = node[key]
          if (Array.isArray(child)) child.forEach(c => visit(c, true))
          else if (child && typeof child.type === 'string') visit(child, true)
        }
    }
  }
  statements.forEach(s => visit(s, false))
}

function analyse (ast, rules, report, refs) {
  const walk = (node, scope, fnStack) => {
    if (!node) return
    if (Object.hasOwn(rules.unparsable, node.type)) report(node, `${rules.unparsable[node.type]}: ${rules.name} cannot parse it`)
    if (rules.espruinoOnly) {
      if ((node.type === 'LogicalExpression' && node.operator === '??') || (node.type === 'AssignmentExpression' && node.operator === '??=')) report(node, 'nullish coalescing (??): Espruino 2v29 cannot parse it')
      if (FUNCTIONS.has(node.type) && (node.async || node.generator)) report(node, `${node.async ? 'an async function' : 'a generator'}: Espruino 2v29 cannot parse it`)
      if (node.type === 'Literal' && node.regex) REGEX_FORMS.forEach(([form, text]) => { if (form.test(node.regex.pattern)) report(node, `/${node.regex.pattern}/ has ${text}`) })
    }

    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        const s = new Scope(node, scope, true, fnStack.length + 1)
        if (node.type === 'FunctionExpression' && node.id) s.names.set(node.id.name, { node, kind: 'self', scope: s })
        node.params.forEach(p => boundNames(p).forEach(id => s.names.set(id.name, { node: p, kind: 'param', scope: s })))
        node.params.forEach(p => walk(p, s, fnStack))
        const inner = fnStack.concat(node)
        if (node.body.type === 'BlockStatement') {
          declare(s, node.body.body)
          node.body.body.forEach(n => walk(n, s, inner))
        } else walk(node.body, s, inner)
        return
      }
      case 'Program':
      case 'BlockStatement':
      case 'StaticBlock': {
        // The program's scope holds its functions' names, like a function's.
        const s = new Scope(node, scope, node.type === 'Program', fnStack.length)
        declare(s, node.body)
        node.body.forEach(n => walk(n, s, fnStack))
        return
      }
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const s = new Scope(node, scope, false, fnStack.length)
        const head = node.init || node.left
        if (head && head.type === 'VariableDeclaration') declare(s, [head])
        for (const key of ['init', 'left', 'test', 'update', 'right', 'body']) walk(node[key], s, fnStack)
        return
      }
      case 'CatchClause': {
        const s = new Scope(node, scope, false, fnStack.length)
        boundNames(node.param).forEach(id => s.names.set(id.name, { node: node.param, kind: 'catch', scope: s }))
        walk(node.body, s, fnStack)
        return
      }
      case 'ClassDeclaration':
      case 'ClassExpression':
        if (rules.espruinoOnly) checkClass(node, scope, report)
        walk(node.superClass, scope, fnStack)
        node.body.body.forEach(member => {
          if (member.computed) walk(member.key, scope, fnStack)
          walk(member.value, scope, fnStack)
          if (member.type === 'StaticBlock') walk(member, scope, fnStack)
        })
        return
      case 'VariableDeclarator':
        if (node.init && node.init.type === 'ClassExpression' && node.id.type === 'Identifier') node.init.nameHint = node.id.name
        if (node.id.type !== 'Identifier') walk(node.id, scope, fnStack)
        walk(node.init, scope, fnStack)
        return
      case 'Identifier':
        resolve(node, scope, fnStack, rules, report, refs)
        return
      case 'AssignmentExpression':
        // Strict mode: assigning a name declared nowhere throws a ReferenceError instead of making a global.
        if (rules.strict && node.left.type === 'Identifier' && !scope.lookup(node.left.name)) report(node.left, `${node.left.name} is assigned but never declared: ${rules.name} runs the program in strict mode, where that throws (fix: declare it with let)`)
        walk(node.left, scope, fnStack)
        walk(node.right, scope, fnStack)
        return
      case 'MemberExpression': {
        const members = rules.missingMembers
        const name = node.computed ? null : node.property.name
        const dotted = node.object.type === 'Identifier' && name ? `${node.object.name}.${name}` : null
        if (dotted && Object.hasOwn(members, dotted) && !scope.lookup(node.object.name)) report(node, members[dotted])
        else if (name && Object.hasOwn(members, name)) report(node.property, members[name])
        walk(node.object, scope, fnStack)
        if (node.computed) walk(node.property, scope, fnStack)
        return
      }
      case 'Property':
        if (node.computed) walk(node.key, scope, fnStack)
        walk(node.value, scope, fnStack)
        return
      case 'UnaryExpression':
        // `typeof X` is how code probes for an optional global; it never throws.
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') return
        walk(node.argument, scope, fnStack)
        return
      case 'LabeledStatement':
        walk(node.body, scope, fnStack)
        return
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
        return
      default:
        walkBase[node.type](node, null, child => walk(child, scope, fnStack))
    }
  }
  walk(ast, null, [])
}

function resolve (id, scope, fnStack, rules, report, refs) {
  const binding = scope.lookup(id.name)
  if (!binding) {
    const missing = rules.missingGlobals.includes(id.name) || (rules.missingGlobal && rules.missingGlobal(id.name))
    if (missing) report(id, `${id.name}: ${rules.name} has no ${id.name}`)
    return
  }
  const decl = binding.node
  if (decl.id === id) return // the declaration itself
  const holdsFunction = binding.kind === 'function' || (decl.type === 'VariableDeclarator' && decl.init && FUNCTIONS.has(decl.init.type))
  // `via`: the outermost function between the reference and the binding's scope; the reference runs when it is called.
  if (holdsFunction) refs.push({ id, binding, via: fnStack[binding.scope.fnDepth] || null })
}

// A function declaration binds its name where it stands on Espruino; a use that runs before that fails.
function checkDeclarationOrder (refs, report) {
  const carriers = new Map() // function node -> the binding that names it
  for (const r of refs) carriers.set(r.binding.kind === 'function' ? r.binding.node : r.binding.node.init, r.binding)
  for (const r of refs) {
    if (r.binding.kind !== 'function') continue
    const decl = r.binding.node
    const name = decl.id.name
    if (r.via === null) {
      if (r.id.start < decl.start) report(r.id, `function ${name} is used before its declaration; Espruino does not hoist function declarations (fix: move the declaration above this line)`)
      continue
    }
    // Used inside another function: fails if that function is called before `name` is declared.
    const carrier = carriers.get(r.via)
    const call = carrier && refs.find(c => c.binding === carrier && c.via === null && c.id.start < decl.start)
    if (call) report(call.id, `${call.id.name}() runs before function ${name} is declared (it uses ${name}); Espruino does not hoist function declarations (fix: move ${name} above this line)`)
  }
}

// esbuild writes top-level classes as `var A = class extends B {}`, which Espruino runs; a class
// expression that names itself, or any class extending something that is not a class, it cannot.
function checkClass (node, scope, report) {
  if (!node.superClass) return
  const name = node.id ? node.id.name : node.nameHint || 'an anonymous class'
  if (node.type === 'ClassExpression' && node.id) {
    report(node, `class expression ${name} extends another class: Espruino 2v29 cannot run a named class expression with extends (fix: a class declaration that does not refer to itself in static members)`)
    return
  }
  const sup = node.superClass
  const binding = sup.type === 'Identifier' ? scope.lookup(sup.name) : undefined
  const isClass = binding && (binding.kind === 'class' || (binding.node.type === 'VariableDeclarator' && binding.node.init && binding.node.init.type === 'ClassExpression'))
  if (!isClass) {
    report(sup, `class ${name} extends ${sup.type === 'Identifier' ? sup.name : 'an expression'}, which is not a class declaration: Espruino 2v29 can only extend classes declared with \`class\``)
  }
}
