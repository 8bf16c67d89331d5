import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildClassTable, generatedColor, mapToPackClasses, readClassesJson } from '../../../src-main/engine/labels/classes';
import { tempDir } from './helpers';

function classesFile(content: string): string {
  const file = path.join(tempDir(), 'classes.json');
  writeFileSync(file, content);
  return file;
}

describe('classes.json', () => {
  it('reads ids, names and optional colours in both notations', () => {
    const file = classesFile(JSON.stringify([{ id: 1, name: 'water', color: '#0a64ff' }, { id: 4, name: 'forest', color: [0, 128, 0] }, { id: 2, name: 'urban', source_code: 9 }]));
    expect(readClassesJson(file)).toEqual([
      { id: 1, name: 'water', color: [10, 100, 255] },
      { id: 4, name: 'forest', color: [0, 128, 0] },
      { id: 2, name: 'urban', color: undefined },
    ]);
  });

  it.each([
    ['not json', /not a readable classes JSON file/],
    ['{"id": 1}', /expected an array/],
    ['[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]', /class id 1 appears twice/],
    ['[{"id": "x", "name": "a"}]', /entry 0 needs an integer "id"/],
    ['[{"id": 1, "name": "Developed"}, {"id": 2, "name": "developed "}]', /class name "developed" is given to ids 1 and 2; give each class its own name/],
    ['[{"id": 1, "name": "a", "color": "blue"}]', /unreadable color/],
  ])('rejects %s with a one-line error naming the file', (content, problem) => {
    const file = classesFile(content);
    expect(() => readClassesJson(file)).toThrow(problem);
    try {
      readClassesJson(file);
    } catch (err) {
      expect((err as Error).name).toBe('FieldMoeError');
      expect((err as Error).message.startsWith(file)).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('class table', () => {
  const declared = [
    { id: 1, name: 'Developed' },
    { id: 5, name: 'forest', color: [1, 2, 3] as [number, number, number] },
  ];

  it('maps ids and names (case and separator insensitive) to indices sorted by id', () => {
    const t = buildClassTable(declared, [5, 'DEVELOPED', 'Forest']);
    expect(t.classes.map((c) => [c.id, c.name])).toEqual([
      [1, 'Developed'],
      [5, 'forest'],
    ]);
    expect(t.classes[1].color).toEqual([1, 2, 3]);
    expect(t.indexOf('developed')).toBe(0);
    expect(t.indexOf(5)).toBe(1);
    expect(t.warnings).toEqual([]);
  });

  it('adds undeclared values as new classes with a warning', () => {
    const t = buildClassTable(declared, [3, 'wetland', 'bare_soil', 'Bare soil']);
    expect(t.classes.map((c) => [c.id, c.name])).toEqual([
      [1, 'Developed'],
      [3, 'class 3'],
      [5, 'forest'],
      [6, 'bare_soil'],
      [7, 'wetland'],
    ]);
    expect(t.indexOf('Bare Soil')).toBe(3);
    expect(t.warnings[0]).toMatch(/not in classes.json.*3.*bare_soil/);
  });

  it('numbers classes from 1 in name order without classes.json', () => {
    const t = buildClassTable([], ['water', 'crop', 'water']);
    expect(t.classes.map((c) => [c.id, c.name])).toEqual([
      [1, 'crop'],
      [2, 'water'],
    ]);
    expect(t.warnings).toEqual([]);
  });

  it('names undeclared ids after their values without classes.json, with a warning that they match no pack class', () => {
    const t = buildClassTable([], [3, 1, 3]);
    expect(t.classes.map((c) => [c.id, c.name])).toEqual([
      [1, 'class 1'],
      [3, 'class 3'],
    ]);
    expect(t.warnings).toEqual([expect.stringMatching(/^no classes.json names the label values: classes are named after them \(class 1, class 3\), and match no pack class/)]);
  });

  it('generates deterministic, clearly distinct colours', () => {
    const colours = Array.from({ length: 16 }, (_, i) => generatedColor(i + 1));
    expect(generatedColor(3)).toEqual(colours[2]);
    for (let a = 0; a < colours.length; a++) {
      for (let b = a + 1; b < colours.length; b++) {
        const d = Math.hypot(...colours[a].map((v, k) => v - colours[b][k]));
        expect(d).toBeGreaterThan(20);
      }
    }
  });

  it('maps label classes onto a pack by name', () => {
    const m = mapToPackClasses([{ name: 'Water' }, { name: 'tree-cover' }, { name: 'glacier' }], [{ name: 'tree cover' }, { name: 'water' }]);
    expect(Array.from(m.packIndex)).toEqual([1, 0, -1]);
    expect(Array.from(m.labelIndexOfPack)).toEqual([1, 0]);
    expect(m.allMatched).toBe(false);
    expect(m.unmatched).toEqual(['glacier']);
    expect(mapToPackClasses([{ name: 'water' }], [{ name: 'water' }]).allMatched).toBe(true);
  });
});
