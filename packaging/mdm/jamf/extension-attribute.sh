#!/bin/sh
# avscout - Jamf Pro extension attribute (input type: Script, data type:
# String). Jamf stores only the text between <result> and </result>; this
# prints exactly one such line, read from the status the agent's service
# keeps (no scan, so inventory stays fast):
#   COMPLIANT | RESTRICTED: <products> | INCOMPLETE: <failed sources> |
#   NOT SCANNED | STALE: … | SCAN FAILED: … | ERROR: … | NOT INSTALLED
# Smart groups: "avscout is COMPLIANT", "avscout like RESTRICTED",
# "avscout like INCOMPLETE" (a source that could have seen a restricted
# product failed: the host is not vouched for).

AVSCOUT=/opt/avscout/bin/avscout

if [ ! -x "$AVSCOUT" ]; then
	echo "<result>NOT INSTALLED</result>"
	exit 0
fi
out=$("$AVSCOUT" status --format jamf 2>/dev/null)
case "$out" in
"<result>"*"</result>") echo "$out" ;;
*) echo "<result>ERROR: avscout status gave no result</result>" ;;
esac
exit 0
