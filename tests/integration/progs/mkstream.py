#!/usr/bin/env python3
"""Write a simplestreams tree (streams/v1/index.json, images.json and the
image files) into OUT from a JSON spec on stdin, then optionally serve it.

spec: {"products": [{"name": P, "aliases": "a,b", "arch": A, "os": O,
        "release": R, "variant": V, "versions": {VER: {"meta": FILE,
        "rootfs": FILE, "rootfs_ftype": "squashfs"|"root.tar.xz",
        "sha256": override, "size": override}}}]}

Used by tests/integration/remote.sh only: an image server on 127.0.0.1.
"""
import hashlib, http.server, json, os, sys


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def item(out, rel, src, ftype, over):
    dst = os.path.join(out, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if src is not None:
        os.symlink(os.path.realpath(src), dst)  # served as the file it names
        d = {'ftype': ftype, 'path': rel, 'sha256': sha(dst), 'size': os.path.getsize(dst)}
    else:  # a file the server does not have (HTTP 404)
        d = {'ftype': ftype, 'path': rel, 'sha256': '0' * 64, 'size': 1234}
    d.update(over)
    return d


def build(out, spec):
    products = {}
    for p in spec['products']:
        versions = {}
        for ver, v in p['versions'].items():
            base = 'images/%s/%s' % (p['name'].replace(':', '/'), ver)
            rft = v.get('rootfs_ftype', 'root.tar.xz')
            rname = 'root.squashfs' if rft == 'squashfs' else 'root.tar.xz'
            items = {
                'lxd.tar.xz': item(out, base + '/lxd.tar.xz', v['meta'], 'lxd.tar.xz', {}),
                rname: item(out, base + '/' + rname, v.get('rootfs'), rft, v.get('override', {})),
            }
            versions[ver] = {'items': items}
        products[p['name']] = {k: p[k] for k in ('aliases', 'arch', 'os', 'release', 'variant')}
        products[p['name']]['release_title'] = p['release']
        products[p['name']]['versions'] = versions
    os.makedirs(os.path.join(out, 'streams/v1'), exist_ok=True)
    with open(os.path.join(out, 'streams/v1/images.json'), 'w') as f:
        json.dump({'format': 'products:1.0', 'datatype': 'image-downloads',
                   'content_id': 'images', 'products': products}, f)
    with open(os.path.join(out, 'streams/v1/index.json'), 'w') as f:
        json.dump({'format': 'index:1.0', 'index': {'images': {
            'datatype': 'image-downloads', 'path': 'streams/v1/images.json',
            'format': 'products:1.0', 'products': sorted(products)}}}, f)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        with open(os.path.join(self.directory, '..', 'access.log'), 'a') as f:
            f.write(self.path + '\n')


def serve(out, portfile):
    handler = lambda *a, **k: Quiet(*a, directory=out, **k)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + '.tmp', portfile)
    srv.serve_forever()


if __name__ == '__main__':
    if sys.argv[1] == 'build':
        build(sys.argv[2], json.load(sys.stdin))
    else:
        serve(sys.argv[2], sys.argv[3])
