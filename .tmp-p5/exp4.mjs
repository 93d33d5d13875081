import Database from 'better-sqlite3';
import * as sv from 'sqlite-vec';
const db = new Database('/tmp/p5/exp.db'); sv.load(db);
const D=1024, P=+process.argv[2]||8;
function pct(a,p){ a=[...a].sort((x,y)=>x-y); return a[Math.floor(a.length*p)]; }
function time(label, f, n=15){ const ts=[]; let r; for(let i=0;i<n;i++){ const t=performance.now(); r=f(i); ts.push(performance.now()-t);} console.log(label, pct(ts,.5).toFixed(2)); return r; }
const q = db.prepare('select embedding from v where meme_id = 77').get().embedding;
if (!db.prepare("select count(*) n from sqlite_master where name='pb'").get().n) {
  db.exec('create table pb (id integer primary key, b blob)');
  db.exec('insert into pb select meme_id, embedding from b');
}
const hm = db.prepare(`select id, vec_distance_hamming(vec_bit(b), vec_quantize_binary(?)) d from pb order by d limit 300`);
time('plain hamming scan 300', ()=>hm.all(q), 5);
const name = 'bp'+P;
if (!db.prepare("select count(*) n from sqlite_master where name=?").get(name).n) {
  db.exec(`create virtual table ${name} using vec0(meme_id integer primary key, shard integer partition key, embedding bit[${D}], category text)`);
  db.exec(`insert into ${name}(meme_id, shard, embedding, category) select meme_id, meme_id % ${P}, embedding, category from b`);
}
for (const kp of [20, 40, 60]) {
  const s = db.prepare(`select meme_id, distance from ${name} where embedding match vec_quantize_binary(?) and k = ${kp} and shard = ?`);
  time(`P=${P} kp=${kp} all shards`, ()=>{ const out=[]; for(let p=0;p<P;p++) out.push(...s.all(q,p)); return out; });
  const sc = db.prepare(`select meme_id, distance from ${name} where embedding match vec_quantize_binary(?) and k = ${kp} and shard = ? and category = 'c3'`);
  time(`P=${P} kp=${kp} all shards cat`, ()=>{ const out=[]; for(let p=0;p<P;p++) out.push(...sc.all(q,p)); return out; });
}
const s1 = db.prepare(`select meme_id, distance from ${name} where embedding match vec_quantize_binary(?) and k = 300`);
time(`P=${P} no shard constraint k=300`, ()=>s1.all(q));
