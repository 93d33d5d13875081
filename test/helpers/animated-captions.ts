/**
 * What the animated GIFs of shared/fixtures/real-memes say, frame by frame,
 * where reading the first frame alone misses something: every GIF whose
 * caption changes between frames, and the GIFs whose first frame shows a
 * caption OCR reads only off later frames. Found by running the offline OCR
 * over every frame of every GIF there (scripts/animated-captions.ts) and
 * looking at the frames; the other GIFs show one caption throughout, read
 * whole off their first frame, or none. Fragments are what OCR reads
 * reliably; `frames` is the inclusive range of frames showing them.
 */
export interface AnimatedCaption {
  /** Path under real-memes. */
  file: string;
  /** Caption fragments per stretch of frames, in playing order; [] where no caption shows. */
  stretches: Array<{ frames: [number, number]; fragments: string[] }>;
  /** Queries a user would type for what the later frames say. */
  laterQueries: string[];
  /** Fragments the first frame does show, but too small, faint or blurred for OCR to read there. */
  unreadFirst?: string[];
}

export const ANIMATED_CAPTIONS: AnimatedCaption[] = [
  {
    file: '033TomAndJerry/TomAndJerry058.gif',
    stretches: [
      { frames: [0, 17], fragments: ['我能怎么办'] },
      { frames: [18, 39], fragments: ['我也很无奈'] },
    ],
    laterQueries: ['我也很无奈', '无奈'],
  },
  {
    file: '002CuteGirl/CuteGirl027.gif',
    stretches: [
      { frames: [0, 11], fragments: ['美美哒'] },
      { frames: [12, 17], fragments: [] },
      { frames: [18, 37], fragments: ['整理一下发型'] },
    ],
    laterQueries: ['整理一下发型', '整理发型'],
  },
  {
    file: '002CuteGirl/CuteGirl103.gif',
    stretches: [
      { frames: [0, 6], fragments: ['hello Mr dj'] },
      { frames: [7, 11], fragments: [] },
      { frames: [12, 17], fragments: ['这节奏不要停'] },
    ],
    laterQueries: ['这节奏不要停'],
  },
  {
    file: '033TomAndJerry/TomAndJerry227.gif',
    stretches: [
      { frames: [0, 24], fragments: [] },
      { frames: [25, 28], fragments: ['吃惊'] },
    ],
    laterQueries: ['吃惊'],
  },
  {
    file: '012PigPecs/PigPecs018.gif',
    stretches: [
      { frames: [0, 5], fragments: [] },
      { frames: [6, 21], fragments: ['小公举'] },
    ],
    laterQueries: ['小公举'],
  },
  {
    // 超 / 帅 / !!! written top to bottom, appearing from frame 5.
    file: '008KumamotoBear/KumamotoBear017.gif',
    stretches: [
      { frames: [0, 4], fragments: [] },
      { frames: [5, 13], fragments: ['超', '帅'] },
    ],
    laterQueries: ['超帅'],
  },
  {
    // 委屈, written vertically, shows in every frame; OCR reads it from frame 3 on.
    file: '021SuDaqiang/SuDaqiang001.gif',
    stretches: [{ frames: [0, 14], fragments: ['委屈'] }],
    laterQueries: ['委屈'],
    unreadFirst: ['委屈'],
  },
  {
    // 哇~ shows in every frame, over a face in motion; OCR reads it from frame 1 on.
    file: '003CuteBoy/CuteBoy024.gif',
    stretches: [{ frames: [0, 30], fragments: ['哇', '糖妹'] }],
    laterQueries: ['哇'],
    unreadFirst: ['哇'],
  },
  {
    // A menu drawn over the whole clip; 汉堡 is read only off frames 4 and 5.
    file: '002CuteGirl/CuteGirl180.gif',
    stretches: [{ frames: [0, 8], fragments: ['微信', '支付宝', '都可支付', '汉堡', '炸鸡', '花生米', '麻辣烫', '招手即停'] }],
    laterQueries: ['汉堡'],
    unreadFirst: ['汉堡'],
  },
];
