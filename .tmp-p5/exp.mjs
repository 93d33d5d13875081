import Database from 'better-sqlite3';
import * as sv from 'sqlite-vec';
const N = +process.argv[2] || 100000, D = +process.argv[3] || 1024;
const db = new Database('/tmp/p5/exp.db'); sv.load(db);
db.pragma('journal_mode=WAL');
function randn(){ let u=0,v=0; while(!u)u=Math.random(); v=Math.random(); return Math.sqrt(-2*Math.log(u))*Math.cos(2*Math.PI*v); }
function norm(a){ let s=0; for(const x of a) s+=x*x; s=Math.sqrt(s); for(let i=0;i<a.length;i++) a[i]/=s; return a; }
const C = 300; const cents = Array.from({length:C},()=>norm(Float32Array.from({length:D},randn)));
const noise = 0.06; // per-dim sigma relative
function sample(){ const c=cents[Math.floor(Math.random()*C)]; const v=new Float32Array(D); for(let i=0;i<D;i++) v[i]=c[i]+randn()*noise; return norm(v); }
const have = db.prepare("select count(*) n from sqlite_master where name='v'").get().n;
if (!have) {
  db.exec(`create virtual table v using vec0(meme_id integer primary key, embedding float[${D}] distance_metric=cosine, category text, is_animated integer, source text)`);
  db.exec(`create virtual table b using vec0(meme_id integer primary key, embedding bit[${D}], category text, is_animated integer, source text)`);
  const ins = db.prepare('insert into v values (CAST(? AS INTEGER), ?, ?, CAST(? AS INTEGER), ?)');
  const insb = db.prepare('insert into b values (CAST(? AS INTEGER), vec_quantize_binary(?), ?, CAST(? AS INTEGER), ?)');
  let t=Date.now();
  const tx = db.transaction((lo,hi)=>{ for(let i=lo;i<hi;i++){ const v=sample(); const buf=Buffer.from(v.buffer); const cat='c'+(i%10); ins.run(i+1,buf,cat,i%5===0?1:0,'s'); insb.run(i+1,buf,cat,i%5===0?1:0,'s'); } });
  for(let lo=0;lo<N;lo+=5000) tx(lo,Math.min(N,lo+5000));
  console.log('insert', Date.now()-t, 'ms');
}
const exact = db.prepare(`select meme_id, distance from v where embedding match ? and k = ?`);
const bin = db.prepare(`select meme_id, distance from b where embedding match vec_quantize_binary(?) and k = ?`);
const binCat = db.prepare(`select meme_id, distance from b where embedding match vec_quantize_binary(?) and k = ? and category = ?`);
const resc = db.prepare(`select meme_id, vec_distance_cosine(embedding, ?) d from v where meme_id in (select value from json_each(?)) order by d limit ?`);
const fetchv = db.prepare(`select meme_id, embedding from v where meme_id in (select value from json_each(?))`);
const cnt = db.prepare(`select count(*) n from v_rowids`);
function pct(a,p){ a=[...a].sort((x,y)=>x-y); return a[Math.floor(a.length*p)]; }
const Q = 40; const qs = Array.from({length:Q}, sample);
let te=[], tb=[], tr=[], tf=[], tc=[]; let rec = {};
for (const over of [20,30,50]) rec[over]=0;
for (const q of qs) {
  const buf = Buffer.from(q.buffer);
  let t=performance.now(); const ex = exact.all(buf, 10); te.push(performance.now()-t);
  t=performance.now(); cnt.get(); tc.push(performance.now()-t);
  for (const over of [20,30,50]) {
    t=performance.now(); const cand = bin.all(buf, 10*over); const t1=performance.now();
    const top = resc.all(buf, JSON.stringify(cand.map(c=>c.meme_id)), 10); const t2 = performance.now();
    if (over===30){ tb.push(t1-t); tr.push(t2-t1);
      const t3=performance.now(); const rows=fetchv.all(JSON.stringify(cand.map(c=>c.meme_id))); tf.push(performance.now()-t3); }
    const s = new Set(ex.map(e=>e.meme_id)); rec[over] += top.filter(r=>s.has(r.meme_id)).length/10/Q;
  }
}
console.log({exact_p50: pct(te,.5), bin300_p50: pct(tb,.5), rescore_sql_p50: pct(tr,.5), fetch_p50: pct(tf,.5), count_p50: pct(tc,.5), rec});
let t=performance.now(); for (let i=0;i<10;i++) binCat.all(Buffer.from(qs[i].buffer), 300, 'c3'); console.log('bincat', (performance.now()-t)/10);
