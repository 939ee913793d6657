package backend_test

import (
	"context"
	"fmt"
	"os"

	"github.com/deskphone/deskphone/backend"
)

func Example() {
	dir, err := os.MkdirTemp("", "backend-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	b, err := backend.New(backend.Config{
		Listen:   []string{"tls:127.0.0.1:0"}, // a free port; Addr("tls") tells which
		StateDir: dir,                         // the PKI is created here on first start
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	fmt.Println(b.Domain(), b.ServerName(), b.ServerRoot(), b.Addr("tls") != "")
	for _, u := range b.Users() {
		fmt.Println(u.User, u.Extension)
	}
	for _, s := range backend.Services() {
		fmt.Println(s.Name, s.Extension)
	}
	// Output:
	// deskphone.test localhost lab-2019 true
	// alice 1001
	// bob 1002
	// carol 1003
	// dave 1004
	// voicemail 8000
	// echo 8001
	// busy 8002
	// noanswer 8003
	// tone 8004
}
