package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// zhShort holds the Chinese one-line description of every command, by command path
// without the leading "mediagate ". TestEveryCommandHasChineseHelp keeps it complete.
var zhShort = map[string]string{
	"":                      "在涉密主机上管控移动存储介质",
	"version":               "显示 mediagate 版本",
	"completion":            "生成命令行自动补全脚本",
	"help":                  "显示命令帮助",
	"person":                "人员管理：责任人、借用人、见证人、审批人",
	"person add":            "添加人员",
	"person list":           "列出人员",
	"person show":           "显示人员及其负责的介质",
	"person update":         "修改人员信息",
	"person deactivate":     "停用人员（其介质须先交接）",
	"host":                  "本机信息：编号、密级、模式",
	"host init":             "登记（或修改）本机信息",
	"host show":             "显示本机信息",
	"media":                 "介质登记及全生命周期：交接、借用、维修、丢失、销毁",
	"media register":        "登记介质并打印其编号",
	"media list":            "列出已登记介质",
	"media show":            "显示介质及其历史记录",
	"media handover":        "将介质交接给新责任人（签字交接记录）",
	"media lend":            "将介质借给他人至指定日期",
	"media return":          "登记借出介质已归还",
	"media lost":            "报告介质丢失（所有主机上均被阻止）",
	"media found":           "登记丢失介质已找回",
	"media repair":          "介质送修（须审批，先不可逆删除）",
	"media repaired":        "登记介质维修返回",
	"media destroy":         "登记介质销毁",
	"media retire":          "介质停用",
	"media relevel":         "上调介质密级（不可下调）",
	"devices":               "列出本机接入的存储设备和介质",
	"numbering":             "显示或设置介质编号规则",
	"numbering show":        "显示编号规则和密级代码",
	"numbering set":         "修改编号规则或密级代码",
	"log":                   "查看审计日志",
	"audit":                 "检查防篡改审计日志",
	"audit verify":          "校验审计日志哈希链",
	"completion bash":       "生成 bash 自动补全脚本",
	"completion fish":       "生成 fish 自动补全脚本",
	"completion powershell": "生成 PowerShell 自动补全脚本",
	"completion zsh":        "生成 zsh 自动补全脚本",
}

const zhUsageTemplate = `用法：{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [命令]{{end}}{{if gt (len .Aliases) 0}}

别名：
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

示例：
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

可用命令：{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

选项：
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

全局选项：
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

使用 "{{.CommandPath}} [命令] --help" 查看命令的详细说明。{{end}}
`

// commandKey is a command's path without the root's name.
func commandKey(c *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), c.Root().Name()), " ")
}

// localizeHelp switches the help of the whole tree to Chinese: the usage template and
// every command's one-line description; a long description follows in English.
func localizeHelp(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	root.SetUsageTemplate(zhUsageTemplate)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if zh, ok := zhShort[commandKey(c)]; ok {
			c.Short = zh
			if c.Long == "" || c == root {
				c.Long = zh
			} else {
				c.Long = zh + "。\n\n" + c.Long
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// langFromArgs finds --lang in the arguments before cobra parses them.
func langFromArgs(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--lang="); ok {
			return v
		}
		if a == "--lang" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
