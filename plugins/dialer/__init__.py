"""云外呼 + 云电话: campaigns, the SIM-rotation engine, direct dial, call records, the agent."""
