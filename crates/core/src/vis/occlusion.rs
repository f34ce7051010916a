//! Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7).
