import t from 'tap'
import { quartzCronProblem } from '../../../src/provisioner/airbyte/quartz-cron.js'

t.test('valid Quartz expressions pass', async (t) => {
  for (const expression of [
    '0 0 2 * * ?',
    '0 0/5 14,18 * * ?',
    '0 15 10 ? * MON-FRI',
    '0 15 10 ? * mon-fri',
    '0 0 12 1/5 * ?',
    '0 11 11 11 11 ?',
    '0 15 10 L * ?',
    '0 15 10 L-2 * ?',
    '0 15 10 LW * ?',
    '0 15 10 15W * ?',
    '0 15 10 ? * 6L',
    '0 15 10 ? * FRIL',
    '0 15 10 ? * L',
    '0 15 10 ? * 6#3',
    '0 15 10 ? * FRI#5',
    '0 15 10 * * ? 2030',
    '0 15 10 * * ? 2025-2030',
    '0 0 22-2 * * ?',
    '0 0 2 ? NOV-FEB SAT,SUN',
    '*/30 * * * JAN,MAR,DEC ?',
    '  0   0 2 * * ?  '
  ]) {
    t.equal(quartzCronProblem(expression), undefined, expression)
  }
})

t.test('invalid expressions say what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['0 2 * * *', /6 or 7 fields.*got 5.*Unix cron/],
    ['0 0 2 * * ? 2030 x', /got 8/],
    ['0 0 2 * * *', /\? in exactly one of day-of-month and day-of-week/],
    ['0 0 2 1 * MON', /\? in exactly one/],
    ['0 0 2 ? * ?', /not both/],
    ['60 0 2 * * ?', /seconds field "60": 60 is outside 0-59/],
    ['0 60 2 * * ?', /minutes field/],
    ['0 0 24 * * ?', /hours field "24"/],
    ['0 0 2 32 * ?', /day-of-month field "32"/],
    ['0 0 2 0 * ?', /outside 1-31/],
    ['0 0 2 ? 13 *', /month field "13"/],
    ['0 0 2 ? JUX *', /"JUX" is not one of JAN/],
    ['0 0 2 ? * 8', /day-of-week field "8": 8 is outside 1-7/],
    ['0 0 2 ? * FUN', /"FUN" is not one of SUN/],
    ['0 0 2 ? * MON#6', /between 1 and 5/],
    ['0 0 2 ? * MON#1,WED#2', /must stand alone/],
    ['0 L 2 * * ?', /minutes field "L": .*only in the day fields/],
    ['0 0 2 1,L * ?', /must stand alone/],
    ['0 0 2 15W-20 * ?', /must stand alone/],
    ['0 0 2 L-31 * ?', /at most 30/],
    ['0 0 2 32W * ?', /outside 1-31/],
    ['0 */0 2 * * ?', /step must be between 1 and 60, got 0/],
    ['0 0/61 2 * * ?', /step must be between/],
    ['0 0/x 2 * * ?', /minutes field "0\/x": the step "X" is not a number/],
    ['0 0/5/2 2 * * ?', /more than one \//],
    ['0 /5 2 * * ?', /no value before the \//],
    ['0 1-2-3 2 * * ?', /not a value or a range/],
    ['0 0 2,,3 * * ?', /empty element/],
    ['0 0 2 * * ? 1969', /year field "1969"/],
    ['0 0 2 * * ? 2030-2020', /runs backwards/],
    ['? 0 2 * * ?', /only in day-of-month and day-of-week/],
    ['0 0 2 * * ? UTC', /year field "UTC"/]
  ]
  for (const [expression, expected] of cases) {
    t.match(quartzCronProblem(expression), expected, JSON.stringify(expression))
  }
})
