import Database from 'better-sqlite3';
import * as sv from 'sqlite-vec';
const db = new Database('/tmp/p5/exp.db'); sv.load(db);
const D=1024;
function pct(a,p){ a=[...a].sort((x,y)=>x-y); return a[Math.floor(a.length*p)]; }
function time(label, f, n=15){ const ts=[]; let r; for(let i=0;i<n;i++){ const t=performance.now(); r=f(i); ts.push(performance.now()-t);} console.log(label, pct(ts,.5).toFixed(2)); return r; }
const q = db.prepare('select embedding from v where meme_id = 77').get().embedding;
const cand = db.prepare(`select meme_id from b where embedding match vec_quantize_binary(?) and k = 300`).all(q).map(r=>r.meme_id);
const pt = db.prepare('select vec_distance_cosine(embedding, ?) d from v where meme_id = ?');
time('point lookups 300', ()=>cand.map(id=>pt.get(q,id)));
if (!db.prepare("select count(*) n from sqlite_master where name='f'").get().n) {
  db.exec('create table f (id integer primary key, e blob)');
  db.exec('insert into f select meme_id, embedding from v');
}
const fl = db.prepare(`select id, vec_distance_cosine(e, ?) d from f where id in (select value from json_each(?)) order by d limit 10`);
time('plain rescore 300', ()=>fl.all(q, JSON.stringify(cand)));
for (const cs of [256, 2048, 4096]) {
  const name='bc'+cs;
  if (!db.prepare("select count(*) n from sqlite_master where name=?").get(name).n) {
    try { db.exec(`create virtual table ${name} using vec0(meme_id integer primary key, embedding bit[${D}], chunk_size=${cs})`);
    db.exec(`insert into ${name}(meme_id, embedding) select meme_id, embedding from b`);} catch(e){ console.log(cs, e.message); continue; }
  }
  for (const k of [10,100,300]) { const s = db.prepare(`select meme_id, distance from ${name} where embedding match vec_quantize_binary(?) and k = ${k}`); time(`chunk ${cs} k=${k}`, ()=>s.all(q)); }
}
const hm = db.prepare(`select meme_id, vec_distance_hamming(embedding, vec_quantize_binary(?)) d from bc2048 order by d limit 300`);
