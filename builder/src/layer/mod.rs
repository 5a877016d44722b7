//! Layers: an overlay upper dir to a compressed tar blob in one streaming pass
//! (write), and the hardened applier of layer tars (apply) (OWNER: layer helper).
