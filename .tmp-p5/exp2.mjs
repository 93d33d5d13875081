import Database from 'better-sqlite3';
import * as sv from 'sqlite-vec';
const db = new Database('/tmp/p5/exp.db'); sv.load(db);
const D=1024;
function pct(a,p){ a=[...a].sort((x,y)=>x-y); return a[Math.floor(a.length*p)]; }
function time(label, f, n=15){ const ts=[]; let r; for(let i=0;i<n;i++){ const t=performance.now(); r=f(i); ts.push(performance.now()-t);} console.log(label, pct(ts,.5).toFixed(2)); return r; }
const vecs = db.prepare('select meme_id, embedding from v where meme_id in (5,77,1234,50000,99999)').all();
const q = vecs[0].embedding;
const bin = (k)=>db.prepare(`select meme_id, distance from b where embedding match vec_quantize_binary(?) and k = ${k}`);
for (const k of [10,100,300,500]) { const s=bin(k); time('bin k='+k, ()=>s.all(q)); }
const cand = bin(300).all(q).map(r=>r.meme_id);
const fin = db.prepare(`select meme_id, distance from v where embedding match ? and k = 10 and meme_id in (select value from json_each(?))`);
time('float knn IN 300', ()=>fin.all(q, JSON.stringify(cand)), 5);
const bin2 = db.prepare(`select meme_id, distance from b where embedding match vec_quantize_binary(?) and k = 300 and meme_id in (select value from json_each(?))`);
time('bin knn IN 300', ()=>bin2.all(q, JSON.stringify(cand)), 5);
const allIds = JSON.stringify(Array.from({length:20000},(_,i)=>i*5+1));
time('bin knn IN 20000', ()=>bin2.all(q, allIds), 5);
if (!db.prepare("select count(*) n from sqlite_master where name='f'").get().n) {
  db.exec('create table f (id integer primary key, e blob)');
  db.exec('insert into f select meme_id, embedding from v');
  db.exec(`create virtual table b2 using vec0(meme_id integer primary key, embedding bit[${D}], chunk_size=8192)`);
  db.exec('insert into b2(meme_id, embedding) select meme_id, embedding from b');
}
const fl = db.prepare(`select id, vec_distance_cosine(e, ?) d from f where id in (select value from json_each(?)) order by d limit 10`);
time('plain rescore 300', ()=>fl.all(q, JSON.stringify(cand)));
const b2 = db.prepare(`select meme_id, distance from b2 where embedding match vec_quantize_binary(?) and k = 300`);
time('bin chunk8192 k=300', ()=>b2.all(q));
const hm = db.prepare(`select meme_id, vec_distance_hamming(embedding, vec_quantize_binary(?)) d from b order by d limit 300`);
time('bin scan via fn', ()=>hm.all(q), 3);
