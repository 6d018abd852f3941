/**
 * Errors: for each error class the code, the column and what the message tells the user.
 * Rows are [context, source, code, column, message pattern].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPR_CODES, MAX_SOURCE_LENGTH, checkExpression, compile, formatExprError, type ExprContext } from '../../src/expr/index.ts';

type Row = [ExprContext, string, string, number, RegExp];

const rows: Row[] = [
  // Syntax, with the column of the offending character.
  ['matcher', 'header(\'a\'', 'EXPR_SYNTAX', 7, /^unclosed '\(': expected '\)' before the end$/],
  ['matcher', 'header({\'a\': \'b\')', 'EXPR_SYNTAX', 17, /expected '}' to close the '\{' at column 8, found '\)'/],
  ['matcher', 'header(\'a\'))', 'EXPR_SYNTAX', 12, /unexpected '\)': no '\(' is open/],
  ['matcher', 'method(\'GET) || true', 'EXPR_SYNTAX', 8, /unclosed string: "GET\) \|\| true" has no closing '/],
  ['matcher', 'header(\'a\') &&', 'EXPR_SYNTAX', 14, /expected a value after '&&'/],
  ['matcher', 'header(\'a\') header(\'b\')', 'EXPR_SYNTAX', 13, /expected an operator such as &&, \|\| or == before "header"/],
  ['matcher', 'header(\'a\') and header(\'b\')', 'EXPR_SYNTAX', 13, /before "and"/],
  ['matcher', 'header(\'a\') === true', 'EXPR_SYNTAX', 13, /the operator '===' is not supported: use ==/],
  ['matcher', 'header(\'a\') & true', 'EXPR_SYNTAX', 13, /'&' is not supported: use && for "and"/],
  ['breaker', 'NetworkErrorRatio() * 2 > 1', 'EXPR_SYNTAX', 21, /'\*' is not supported: arithmetic is not supported/],
  ['matcher', 'true;', 'EXPR_SYNTAX', 5, /unexpected ';'/],
  ['matcher', 'true, false', 'EXPR_SYNTAX', 5, /unexpected ',' outside a function call/],
  ['matcher', '(true, false)', 'EXPR_SYNTAX', 1, /unexpected ',' inside parentheses/],
  ['matcher', '{path}.startsWith(\'/api\')', 'EXPR_SYNTAX', 1, /method calls such as \.startsWith\(\) are not supported/],
  ['matcher', 'request.path == \'/\'', 'EXPR_SYNTAX', 1, /property access/],
  ['matcher', '1abc == 1', 'EXPR_SYNTAX', 2, /malformed number "1a"/],
  ['matcher', '[\'a\'] == \'a\'', 'EXPR_SYNTAX', 1, /a list can only be a function argument/],
  ['matcher', 'method([\'GET\',, \'PUT\'])', 'EXPR_SYNTAX', 8, /empty element in a list/],
  ['matcher', 'null', 'EXPR_SYNTAX', 1, /null is not supported/],
  ['matcher', 'header', 'EXPR_SYNTAX', 1, /header is a function: call it, e.g. header\('Name'\)/],
  ['matcher', 'method == \'GET\'', 'EXPR_SYNTAX', 1, /method is a function/],
  ['matcher', 'true ? false', 'EXPR_SYNTAX', 12, /expected ':' to complete the conditional/],
  ['matcher', 'a $ b', 'EXPR_SYNTAX', 3, /unexpected '\$'/],
  ['matcher', '~1 == 1', 'EXPR_SYNTAX', 1, /prefix operator '~' is not supported/],
  ['key', 'user-{header.X', 'EXPR_SYNTAX', 6, /unclosed placeholder/],
  ['key', 'a}b', 'EXPR_SYNTAX', 2, /unexpected '}' \(write \\} for a literal brace\)/],
  ['key', 'x{}', 'EXPR_SYNTAX', 2, /empty placeholder/],
  // Empty, too long, too deep.
  ['matcher', '', 'EXPR_EMPTY', 1, /the expression is empty; write true or false/],
  ['breaker', ' \n ', 'EXPR_EMPTY', 1, /empty/],
  ['key', '', 'EXPR_EMPTY', 1, /the key is empty; write a template such as \{remote\.ip\}/],
  ['matcher', 'true || '.repeat(600) + 'true', 'EXPR_TOO_LONG', MAX_SOURCE_LENGTH + 1, /4804 characters long; the limit is 4096/],
  ['matcher', `${'('.repeat(40)}true${')'.repeat(40)}`, 'EXPR_TOO_DEEP', 33, /brackets nest more than 32 deep/],
  ['matcher', `${'!'.repeat(12)}true`, 'EXPR_TOO_DEEP', 9, /more than 8 prefix operators in a row/],
  ['matcher', `${'true ? '.repeat(40)}true${' : false'.repeat(40)}`, 'EXPR_TOO_DEEP', 230, /more than 32 conditionals/],
  // Names.
  ['matcher', 'heder(\'X\')', 'EXPR_UNKNOWN_NAME', 1, /unknown function heder\(\); did you mean header\(\)\?/],
  ['matcher', 'Path(\'/x\')', 'EXPR_UNKNOWN_NAME', 1, /did you mean path\(\)\?/],
  ['matcher', 'true && nope', 'EXPR_UNKNOWN_NAME', 9, /unknown name "nope"/],
  ['breaker', 'NetworkErrorRate() > 0.3', 'EXPR_UNKNOWN_NAME', 1, /did you mean NetworkErrorRatio\(\)\?/],
  ['matcher', '{remote.ipp} == \'\'', 'EXPR_UNKNOWN_PLACEHOLDER', 1, /unknown placeholder \{remote\.ipp\}; did you mean \{remote\.ip\}\?/],
  ['key', 'ip:{http.request.remote.hots}', 'EXPR_UNKNOWN_PLACEHOLDER', 4, /did you mean \{http\.request\.remote\.host\}/],
  // Context.
  ['matcher', 'method(\'GET\') && NetworkErrorRatio() > 0.3', 'EXPR_WRONG_CONTEXT', 18, /NetworkErrorRatio\(\) is a circuit-breaker function; it cannot be used in a request matcher/],
  ['key', 'LatencyAtQuantileMS(50) > 1 ? \'a\' : \'b\'', 'EXPR_WRONG_CONTEXT', 1, /cannot be used in a rate-limit key/],
  ['breaker', 'NetworkErrorRatio() > 0.3 && header(\'X\')', 'EXPR_WRONG_CONTEXT', 30, /header\(\) reads the request; a circuit-breaker expression can only use NetworkErrorRatio\(\)/],
  ['breaker', '{method} == \'GET\'', 'EXPR_WRONG_CONTEXT', 1, /the placeholder \{method\} reads the request/],
  // Arity.
  ['matcher', 'cookie()', 'EXPR_ARITY', 1, /cookie\(\) takes 1 or 2 arguments, found 0: cookie\('name'\) or cookie\('name', 'glob'\)/],
  ['matcher', 'header_regexp(\'X\')', 'EXPR_ARITY', 1, /takes 2 or 3 arguments, found 1/],
  ['matcher', 'true && random(1) < 1', 'EXPR_ARITY', 9, /random\(\) takes no arguments, found 1/],
  ['matcher', 'query({\'a\': \'1\'}, {\'b\': \'2\'})', 'EXPR_ARITY', 1, /takes 1 argument, found 2/],
  // Argument types: literal values of the right shape.
  ['matcher', 'path(1)', 'EXPR_ARG_TYPE', 6, /path\(\): the first argument \(a path pattern\) must be a quoted string, found the number 1/],
  ['matcher', 'path(\'/a\', true)', 'EXPR_ARG_TYPE', 12, /the second argument \(a path pattern\) must be a quoted string, found true/],
  ['matcher', 'header({\'X\': 1})', 'EXPR_ARG_TYPE', 14, /the value for "X" must be a quoted string \(a glob\) or a list of them, found the number 1/],
  ['matcher', 'header({\'X\': [\'a\', 2]})', 'EXPR_ARG_TYPE', 20, /the values for "X" must be quoted strings \(each a glob\), found the number 2/],
  ['matcher', 'method(header_value(\'X\'))', 'EXPR_ARG_TYPE', 8, /found a call of header_value\(\) \(arguments are literal values\)/],
  ['matcher', 'method({method})', 'EXPR_ARG_TYPE', 8, /found the placeholder \{method\}/],
  ['matcher', 'query(\'a=1\')', 'EXPR_ARG_TYPE', 7, /the first argument \(query parameter names and globs\) must be an object such as \{'name': 'value'\}, found the string "a=1"/],
  ['matcher', 'header([\'X\'])', 'EXPR_ARG_TYPE', 8, /the first argument \(a header name or header globs\) must be a quoted string or an object such as \{'User-Agent': '\*Chrome\*'\}, found a list/],
  ['matcher', 'remote_ip([1])', 'EXPR_ARG_TYPE', 12, /the list in the first argument must hold quoted strings \(each an IP address or CIDR range\), found the number 1/],
  // Argument values.
  ['matcher', 'protocol(\'http/3\')', 'EXPR_ARG_VALUE', 10, /unknown protocol "http\/3"; expected one of http, https, grpc/],
  ['matcher', 'path(\'/a\', \'api/*\')', 'EXPR_ARG_VALUE', 12, /the path pattern "api\/\*" must start with \/ or \*/],
  ['matcher', 'header({\'X-A\': \'1\', \'x-a\': \'2\'})', 'EXPR_ARG_VALUE', 21, /header name "x-a" appears twice/],
  ['matcher', 'header({\'Bad Name\': \'x\'})', 'EXPR_ARG_VALUE', 9, /"Bad Name" is not a valid header name/],
  ['matcher', 'header({})', 'EXPR_ARG_VALUE', 8, /name at least one header/],
  ['matcher', 'method(\'GET\', \'P0ST\')', 'EXPR_ARG_VALUE', 15, /"P0ST" is not an HTTP method/],
  ['matcher', 'cookie(\'a;b\')', 'EXPR_ARG_VALUE', 8, /not a valid cookie name/],
  ['matcher', 'host(\'\')', 'EXPR_ARG_VALUE', 6, /"" is not a host name/],
  // Patterns.
  ['matcher', 'path_regexp(\'(\')', 'EXPR_BAD_PATTERN', 13, /bad regular expression "\(": Unterminated group/],
  ['matcher', 'path_regexp(\'^/(a+)+$\')', 'EXPR_BAD_PATTERN', 13, /exponential time/],
  ['matcher', 'header_regexp(\'X\', \'(?<=a)b\')', 'EXPR_BAD_PATTERN', 20, /lookahead and lookbehind are not supported/],
  ['matcher', 'header_regexp(\'X\', \'(a)\\\\1\')', 'EXPR_BAD_PATTERN', 20, /backreferences are not supported/],
  ['matcher', 'remote_ip(\'10.0.0.0/8\', \'10.0.0.256\')', 'EXPR_BAD_PATTERN', 25, /"10\.0\.0\.256": expected an IPv4 or IPv6 address or a CIDR range/],
  ['matcher', 'remote_ip(\'fd00::/129\')', 'EXPR_BAD_PATTERN', 11, /at most 128, found 129/],
  // Operands.
  ['matcher', 'header(\'a\') && 1', 'EXPR_OPERAND_TYPE', 16, /&& joins conditions, found a number/],
  ['matcher', '!\'yes\'', 'EXPR_OPERAND_TYPE', 2, /! needs a condition, found a string/],
  ['matcher', '\'b\' > \'a\'', 'EXPR_OPERAND_TYPE', 1, /> compares numbers, found a string/],
  ['matcher', 'random() == \'0.5\'', 'EXPR_OPERAND_TYPE', 10, /== compares values of the same type, found a number and a string/],
  ['matcher', 'header_value(\'X\') + 1 == \'x1\'', 'EXPR_OPERAND_TYPE', 21, /\+ joins strings \(there is no arithmetic\), found a number/],
  ['matcher', 'random() ? true : false', 'EXPR_OPERAND_TYPE', 1, /the part before \? must be a condition, found a number/],
  ['key', 'header(\'X\') ? \'a\' : 1', 'EXPR_OPERAND_TYPE', 21, /both branches of \? : must have the same type, found a string and a number/],
  // Result types.
  ['matcher', 'random()', 'EXPR_NOT_BOOLEAN', 1, /a request matcher must be a condition \(true\/false\), but this is a number; compare it, e.g. random\(\) < 0\.1/],
  ['matcher', 'header_value(\'X-Env\')', 'EXPR_NOT_BOOLEAN', 1, /but this is a string; compare it/],
  ['breaker', 'NetworkErrorRatio()', 'EXPR_NOT_BOOLEAN', 1, /compare it, e.g. NetworkErrorRatio\(\) > 0\.30/],
  ['key', 'header(\'X-User\')', 'EXPR_NOT_STRING', 1, /a rate-limit key must give a string, but this gives a condition/],
];

test('each error class: code, column and message', () => {
  const wrong: string[] = [];
  for (const [context, source, code, column, message] of rows) {
    const e = checkExpression(source, context);
    const label = `${context} ${JSON.stringify(source.length > 60 ? `${source.slice(0, 60)}…` : source)}`;
    if (!e) {
      wrong.push(`${label}: compiled, expected ${code}`);
      continue;
    }
    if (e.code !== code || e.column !== column || !message.test(e.message) || e.source !== source) {
      wrong.push(`${label}: got ${e.code} at ${e.column}: ${e.message}; expected ${code} at ${column} matching ${message}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('every error code but EXPR_INTERNAL is exercised above', () => {
  const seen = new Set(rows.map((r) => r[2]));
  assert.deepEqual(EXPR_CODES.filter((c) => !seen.has(c)), ['EXPR_INTERNAL']);
});

test('a non-string source or an unknown context is an error, not an exception', () => {
  const r = compile(undefined as unknown as string, 'matcher');
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.code, 'EXPR_SYNTAX');
  assert.equal(!r.ok && r.error.column, 1);
  const c = compile('true', 'nonsense' as ExprContext);
  assert.equal(!c.ok && c.error.code, 'EXPR_WRONG_CONTEXT');
  assert.equal(checkExpression('true', 'matcher'), undefined);
});

test('formatExprError shows the line and a caret under the column', () => {
  const e = checkExpression('method(\'GET\') &&\n  heder(\'X\')', 'matcher');
  assert.ok(e);
  assert.equal(formatExprError(e), [
    'EXPR_UNKNOWN_NAME at column 20: unknown function heder(); did you mean header()?',
    '    heder(\'X\')',
    '    ^',
  ].join('\n'));
  const long = checkExpression(`${'method(\'GET\') || '.repeat(20)}nope`, 'matcher');
  assert.ok(long);
  const lines = formatExprError(long).split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.indexOf('^'), lines[1]!.indexOf('nope'));
  assert.ok(lines[1]!.startsWith('  …'));
});
