package wire

// Officer operations: POST /v1/officer/<op>, one per service method the CLI uses.
// The body is the method's request (its typed request struct, or the argument struct
// of this package); the answer its result.
const (
	OpAddPerson        = "add-person"
	OpPerson           = "person"
	OpListPeople       = "list-people"
	OpShowPerson       = "show-person"
	OpUpdatePerson     = "update-person"
	OpDeactivatePerson = "deactivate-person"

	OpHost         = "host"
	OpNumbering    = "numbering"
	OpSetNumbering = "set-numbering"
	OpEvents       = "events"
	OpSearchEvents = "search-events"
	OpVerifyLog    = "verify-log"

	OpRegister         = "register"
	OpBind             = "bind"
	OpMedium           = "medium"
	OpMediumByIdentity = "medium-by-identity"
	OpListMedia        = "list-media"
	OpShowMedium       = "show-medium"
	OpHandover         = "handover"
	OpLend             = "lend"
	OpReturn           = "return"
	OpSetStatus        = "set-status"
	OpRelevel          = "relevel"
	OpIssue            = "issue"
	OpSeenWhere        = "seen-where"
	OpOverdueLoans     = "overdue-loans"
	OpNextNumbers      = "next-numbers"
	OpSummary          = "summary"

	OpOpenCampaign    = "open-campaign"
	OpOpenCampaignNow = "open-campaign-now"
	OpCampaign        = "campaign"
	OpCampaignReport  = "campaign-report"
	OpCheckInManual   = "check-in-manual"
	OpOutstanding     = "outstanding"
	OpCheckInsSince   = "check-ins-since"
	OpCheckInPlug     = "check-in-plug"
	OpPlanClose       = "plan-close"
	OpCloseCampaign   = "close-campaign"
	OpFinalReport     = "final-report"

	OpAddHost     = "add-host"
	OpNewToken    = "new-token"
	OpUpdateHost  = "update-host"
	OpOfficeHosts = "office-hosts"
	OpShowHost    = "show-host"
	OpRevokeHost  = "revoke-host"
	OpRequests    = "requests"
	OpApprove     = "approve-request"
	OpReject      = "reject-request"
)
