package catalog

// help is the help of every command: "help.<command path>" (the one-line
// description) and "help.<command path>.long".
var help = map[string][2]string{}
