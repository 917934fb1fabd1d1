// Command token-scopes is the console user pool's pre token generation
// trigger (V2_0): each access token gets the scope citadel/<role> of each of
// the user's groups that is a role, and loses any other citadel/ scope
// (shared/tokenscopes). It reads no table and no bucket.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/tokenscopes"
)

func main() {
	h := &tokenscopes.Handler{Log: awsx.SetupLogging()}
	lambda.Start(h.Handle)
}
