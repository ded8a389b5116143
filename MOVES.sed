# Rewrites imports of the old explain/ module paths (before the intake/model/decoding subpackages)
# to the new ones. For demo/ and app.py: sed -i -f MOVES.sed app.py $(git ls-files 'demo/*.py')
s|from explain\.images import|from explain.intake import|g
s|from explain\.loader import|from explain.model import|g
s|from explain\.detector import|from explain.model.detector import|g
s|from explain\.fastdecode import|from explain.decoding import|g
s|from explain import fastdecode_triton|from explain.decoding import kernels|g
s|from explain\.fastdecode_triton import|from explain.decoding.kernels import|g
s|from explain\.checkpoints import|from tests.factories.checkpoints import|g
s|from explain\.provenance import samples|from tests.factories import provenance_samples|g
s|from explain\.provenance\.samples import|from tests.factories.provenance_samples import|g
s|explain\.images\.|explain.intake.|g
s|explain\.loader\.|explain.model.|g
s|explain\.detector\.|explain.model.detector.|g
s|explain\.fastdecode\.|explain.decoding.|g
