//! The k strongest activations of each feature map over an image set (Zeiler & Fergus 2014, Fig. 2).
