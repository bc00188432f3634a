package broker

// SelfSignedTLS is selfSignedTLS for the external tests (package broker_test).
var SelfSignedTLS = selfSignedTLS
