import json
res=json.load(open('go-out.json'))
cases={c['name']:c['template'] for c in json.load(open('cases.json'))}
data=json.load(open('data.json'))
def cs(s):
    out='"'
    for ch in s:
        if ch=='\\': out+='\\\\'
        elif ch=='"': out+='\\"'
        elif ch=='\n': out+='\\n'
        elif ch=='\t': out+='\\t'
        else: out+=ch
    return out+'"'
skip={'null','join_split'}
ok=[];err=[]
for r in res:
    n=r['name']
    if n in skip: continue
    if 'output' in r: ok.append((n,cases[n],r['output']))
    else: err.append((n,cases[n],r['error'],r.get('partial','')))
lines=[]
for n,t,o in ok:
    lines.append(f'    [InlineData({cs(n)}, {cs(t)}, {cs(o)})]')
open('ok.txt','w').write('\n'.join(lines)+'\n')
lines=[]
for n,t,e,p in err:
    # keep Go's reason: the part after the last "executing ... at <...>: " or after "template: :N: "
    import re
    m=re.match(r'template: :(\d+)(?::(\d+))?: (?:executing "[^"]*" at <(.*?)>: )?(.*)$', e, re.S)
    lines.append(f'    [InlineData({cs(n)}, {cs(t)}, {cs(m.group(4))})]')
open('err.txt','w').write('\n'.join(lines)+'\n')
print(json.dumps(json.dumps(data)))
